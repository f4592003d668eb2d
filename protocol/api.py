"""The REST half of the wire: request and response bodies of every ``/api/v1`` route.

The server declares these as ``response_model`` and request bodies, so the OpenAPI is
generated from the same classes the hall parses answers with. Requests forbid unknown
fields (a citizen can never smuggle in ``state`` or ``role``); responses ignore them, so
an older client keeps working when the server adds a field.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from annotated_types import Interval
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict, StrictBool, StringConstraints

from protocol.catalog import Agency, Localized, Where
from protocol.messages import CHAT_TEXT_MAX, ApplicationEvent, DocumentEvent, QueueEvent

Lang = Literal["id", "en"]
# Printable ASCII, no space at either end (the server strips and checks the same).
IDEMPOTENCY_KEY_RE = r"^[!-~]([ -~]{0,118}[!-~])?$"
IDEMPOTENCY_KEY_MAX = 120


def _whole_number(value: Any) -> Any:
    """JSON has one number type: 2.0 is the integer 2; but "2" and true are not numbers."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


WholeNumber = Annotated[int, Strict(), BeforeValidator(_whole_number)]
TicketState = Literal["waiting", "called", "served", "skipped"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(extra="ignore")


# ------------------------------------------------------------------ errors


class ErrorDetail(_Out):
    """Every refusal: a stable ``code`` and the message in the caller's language and both languages.

    Some refusals carry more (``field``, ``fields``, ``errors``, ``state``, ``retry_after``).
    """

    model_config = ConfigDict(extra="allow")
    code: str
    message: str
    message_id: str
    message_en: str
    field: str | None = None
    fields: dict[str, Any] | None = None
    errors: list[dict[str, Any]] | None = None
    retry_after: int | None = None

    def text(self, lang: str) -> str:
        return self.message_en if lang == "en" else self.message_id


class ErrorBody(_Out):
    detail: ErrorDetail


# ------------------------------------------------------------------ sessions and identity


class SessionIn(_In):
    lang: Lang = "id"
    name: str | None = Field(default=None, max_length=60)
    demo: StrictBool = False  # a demo tour's visitor (its applications stay out of real officers' lists)


class SessionOut(_Out):
    token: str
    session_id: str
    expires_at: dt.datetime


class IdentifyIn(_In):
    nik: str | int = Field(description="16-digit NIK, as a string (a number is checked too, then refused clearly)")
    name: str = Field(min_length=1, max_length=120)
    contact: str | None = Field(
        default=None,
        max_length=200,
        description="E-mail or mobile number; used only to register a NIK that has no contact yet",
    )


class ChallengeOut(_Out):
    """The same reply whether or not the NIK is known (no existence oracle)."""

    challenge_id: str
    expires_in: int
    code_length: int = 6
    message_id: str
    message_en: str


class VerifyIn(_In):
    challenge_id: str = Field(min_length=1, max_length=64)
    code: str = Field(min_length=1, max_length=12)


class VerifiedOut(_Out):
    session_id: str
    citizen: str = Field(description="Masked NIK")
    name: str


class MeOut(_Out):
    session_id: str
    lang: str
    citizen: str | None = Field(description="Masked NIK when identified")
    name: str | None
    contact: str | None = Field(description="Masked contact when identified")
    expires_at: dt.datetime


class MyDataOut(_Out):
    """Everything held about the proven citizen (UU 27/2022): their own numbers in full, others' masked."""

    format: str
    exported_at: dt.datetime
    citizen: dict[str, Any]
    sessions: list[dict[str, Any]]
    applications: list[dict[str, Any]]
    events: list[dict[str, Any]]
    tickets: list[dict[str, Any]]
    conversation: list[dict[str, Any]]
    handoffs: list[dict[str, Any]]
    complaints: list[dict[str, Any]]
    surveys: list[dict[str, Any]]
    uploads: list[dict[str, Any]]
    issued_documents: list[dict[str, Any]]


# ------------------------------------------------------------------ catalogue


class ServiceSummary(_Out):
    id: str
    agency: str
    counter: int
    name: Localized
    short_name: Localized
    description: Localized
    free: bool
    where: list[Where]


class AgencyOut(Agency):
    services: list[str] = Field(default_factory=list, description="ids of the agency's services")


class VillageOut(_Out):
    code: str
    name: str
    kecamatan_code: str
    kecamatan: str
    kind: str


# ------------------------------------------------------------------ applications


class ApplicationIn(_In):
    service_id: str = Field(min_length=1, max_length=40)
    data: dict[str, Any]
    submit: StrictBool = False


class NoteIn(_In):
    note: str | None = Field(default=None, max_length=2000)


class ApplicationOut(_Out):
    tracking_number: str | None
    service_id: str
    agency_id: str
    state: str
    version: int
    data: dict[str, Any] = Field(description="Personal numbers masked by field type")
    sla_due: dt.date | None
    created_at: dt.datetime
    updated_at: dt.datetime
    receipt_pin: str | None = Field(default=None, description="Only in the owner's views: printed on the receipt")


class TrackIn(_In):
    tracking_number: str = Field(min_length=1, max_length=20)
    pin: str = Field(min_length=1, max_length=12)


StreamEvent = Annotated[ApplicationEvent | DocumentEvent | QueueEvent, Field(discriminator="type")]


class TrackedOut(ApplicationOut):
    events: list[StreamEvent]


class AttachIn(_In):
    ids: list[int] = Field(min_length=1, max_length=20, description="ids of this visitor's uploads")


class DocumentOut(_Out):
    id: int
    sha256: str
    size: int
    content_type: Literal["application/pdf", "image/jpeg", "image/png"]
    filename: str


class IssuedDocumentOut(_Out):
    number: str
    title: str
    title_en: str
    service_id: str
    tracking_number: str | None
    claim_slip: bool
    issuer: str
    signer: str
    issued_at: dt.datetime
    specimen: bool
    verify_url: str
    code: str
    revoked: bool
    revoked_at: dt.datetime | None
    handed_over_at: dt.datetime | None
    size: int
    sha256: str

    @property
    def state(self) -> Literal["issued", "handed_over", "revoked"]:
        if self.revoked:
            return "revoked"
        return "handed_over" if self.handed_over_at else "issued"


# ------------------------------------------------------------------ queue


class TicketIn(_In):
    counter: int = Field(ge=1, le=99)


class TicketOut(_Out):
    code: str
    counter: int
    state: TicketState
    day: dt.date
    estimated_wait_min: int | None
    created_at: dt.datetime


class BoardRow(_Out):
    counter: int
    code: str
    agency_id: str
    now_serving: str | None
    waiting: int


# ------------------------------------------------------------------ dashboard


class DatasetIndexRow(_Out):
    name: str
    sample: bool
    updated_at: dt.datetime


class DatasetLabel(_Out):
    id: str
    en: str


class DatasetOut(_Out):
    name: str
    sample: bool
    label: DatasetLabel
    source: str | None
    updated_at: dt.datetime
    rows: list[dict[str, Any]]


# ------------------------------------------------------------------ assistant and calls


class AskIn(_In):
    text: str = Field(min_length=1, max_length=CHAT_TEXT_MAX)
    conversation_id: str | None = Field(default=None, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    lang: Lang | None = None


class IceServer(_Out):
    urls: list[str]
    username: str | None = None
    credential: str | None = None


class IceOut(_Out):
    ice_servers: list[IceServer]
    ttl_seconds: int
    ice_transport_policy: Literal["relay", "all"]


# ------------------------------------------------------------------ operations


class HealthOut(_Out):
    status: Literal["ok"]


class ReadyOut(_Out):
    status: Literal["ready", "not ready"]
    checks: dict[str, Any]


# ------------------------------------------------------------------ feedback


class SurveyIn(_In):
    score: WholeNumber = Field(ge=1, le=4, description="SKM scale: 1 poor … 4 very good")
    comment: str | None = Field(default=None, max_length=2000)
    application: str | None = Field(default=None, max_length=20, description="Tracking number")
    handoff_id: Annotated[int, Interval(ge=1, le=2**53), Strict(), BeforeValidator(_whole_number)] | None = None


class SurveyOut(_Out):
    id: int
    score: int
    application: str | None
    handoff_id: int | None
    service_id: str | None
    created_at: dt.datetime


class ComplaintIn(_In):
    subject: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=200)]
    body: Annotated[str, StringConstraints(strip_whitespace=True, min_length=10, max_length=5000)]
    agency: str | None = Field(default=None, max_length=40)


ComplaintState = Literal["open", "in_progress", "responded", "closed"]


class ComplaintOut(_Out):
    id: int
    tracking: str = Field(description="ADU-<year>-<id>")
    subject: str
    body: str
    agency: str | None
    state: ComplaintState
    response: str | None
    created_at: dt.datetime
    updated_at: dt.datetime


class RespondIn(_In):
    # the pattern tells the schema what the strip already means: blanks alone are no response
    response: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000, pattern=r"\S")]
    state: Literal["in_progress", "responded", "closed"] = "responded"


class TranscriptLine(_In):
    role: Literal["citizen", "assistant"]
    text: Annotated[str, StringConstraints(max_length=2000)]
    service: str | None = Field(default=None, max_length=40)


class HandoffIn(_In):
    conversation_id: str | None = Field(default=None, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    service_id: str | None = Field(default=None, max_length=40)
    transcript: list[TranscriptLine] = Field(default_factory=list, max_length=50)
    guided: StrictBool = Field(default=False, description="The citizen is in guided mode (big steps, spoken)")


HandoffState = Literal["pending", "accepted", "closed", "expired", "declined"]


class HandoffOut(_Out):
    handoff_id: int
    state: str
    conversation_id: str


class HandoffRow(HandoffOut):
    service_id: str | None
    officer: str | None
    created_at: dt.datetime


# ------------------------------------------------------------------ public verification


class PublicDocumentView(_Out):
    """What anyone holding a document's code sees: never a NIK or a full name."""

    status: Literal["valid", "revoked", "unknown"]
    title: str | None = None
    title_en: str | None = None
    number: str | None = None
    issuer: str | None = None
    signer: str | None = None
    issued_on: dt.date | None = None
    issued_on_text: str | None = None
    holder: str | None = None
    specimen: bool | None = None
    revoked_on: dt.date | None = None


class PdfCheckOut(_Out):
    """An uploaded PDF checked: signature, trust, coverage, and the registry's view of it."""

    status: Literal["valid", "revoked", "altered", "unsigned", "invalid", "unknown_file"]
    signed: bool
    signature_intact: bool
    signer_trusted: bool
    covers_whole_file: bool
    signer: str | None
    signed_at: dt.datetime | None
    timestamped: bool
    problem: str | None
    title: str | None = None
    title_en: str | None = None
    number: str | None = None
    issuer: str | None = None
    issued_on: dt.date | None = None
    issued_on_text: str | None = None
    holder: str | None = None
    specimen: bool | None = None
    revoked_on: dt.date | None = None


# ------------------------------------------------------------------ officers


class LoginIn(_In):
    username: str = Field(min_length=1, max_length=60)
    password: str = Field(min_length=1, max_length=200)


class LoginOut(_Out):
    token: str
    csrf: str
    role: str
    agency_id: str | None
    username: str


class TransitionIn(_In):
    to: str = Field(min_length=1, max_length=20)
    note: str | None = Field(default=None, max_length=2000)


class RevokeIn(_In):
    reason: str = Field(min_length=1, max_length=2000)


QueueAction = Literal["call-next", "recall", "skip", "served"]


class QueueActionOut(_Out):
    counter: int
    action: QueueAction
    ticket: TicketOut | None


class BirthIn(_In):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    mother_nik: str = Field(min_length=1, max_length=16)
    mother_name: str = Field(min_length=2, max_length=100)
    father_nik: str | None = Field(default=None, max_length=16)
    father_name: str | None = Field(default=None, max_length=100)
    child_name: str = Field(min_length=2, max_length=100)
    child_sex: str = Field(pattern="^[LP]$")
    birth_date: dt.date
    birth_time: str | None = Field(default=None, pattern=r"^([01]\d|2[0-3])[:.][0-5]\d$")
    weight_g: int | None = Field(default=None, ge=300, le=7000)
    length_cm: float | None = Field(default=None, ge=20, le=70)


class BirthOut(ApplicationOut):
    lahir_procot: bool = True
    facility: str | None


class BirthDocument(_Out):
    number: str
    revoked: bool


class BirthRow(_Out):
    tracking_number: str | None
    child_name: str | None
    birth_date: str | None
    mother_name: str | None
    mother_nik: str | None = Field(description="Masked")
    state: str
    sla_due: dt.date | None
    document: BirthDocument | None
    registered_at: dt.datetime


class OfficerIdentifyIn(_In):
    nik: str = Field(min_length=16, max_length=16)
    name: str = Field(min_length=1, max_length=120)
    contact: str | None = Field(default=None, max_length=200, description="Binds a contact for a NIK that has none")


class OfficerIdentifiedOut(_Out):
    handoff_id: int
    citizen: str = Field(description="Masked NIK")
    name: str


class RebindIn(_In):
    nik: str = Field(min_length=16, max_length=16)
    contact: str = Field(min_length=3, max_length=200)
    reason: str = Field(min_length=3, max_length=500, description="Recorded in the audit log")


class RebindOut(_Out):
    citizen: str = Field(description="Masked NIK")
    contact: str | None = Field(description="Masked")
