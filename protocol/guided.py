"""Guided mode on the wire: the server drives the visit, the client only draws and answers.

The server sends one ``guided.step`` per step (text, big choices, the field asked, what to
speak, the press count); the client answers with ``guided.choose`` naming the step it answers
(``step_id``) and either a choice id from that step or a typed value for its field. The hall
and the 2D page keep no flow and no strings of their own.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from protocol import PROTOCOL_VERSION

GUIDED_VALUE_MAX = 200

# Where each kind of step belongs; clients style by it (an officer step is never an error).
GuidedTone = Literal["normal", "officer", "problem"]


class GuidedStart(BaseModel):
    """Enter guided mode: a new visit, or resume ``conversation_id`` (this session's own)."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["guided.start"] = "guided.start"
    lang: Literal["id", "en"] | None = None
    conversation_id: str | None = Field(default=None, min_length=4, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    ref: str | None = Field(default=None, max_length=64)


class GuidedChoose(BaseModel):
    """The visitor's answer to step ``step_id``: a ``choice`` id offered there, or a typed ``value``.

    ``auto`` marks what the client did without a press (the walk ended); it is not counted.
    """

    model_config = ConfigDict(extra="forbid")
    type: Literal["guided.choose"] = "guided.choose"
    step_id: int = Field(ge=0)
    choice: str | None = Field(default=None, min_length=1, max_length=80)
    value: str | None = Field(default=None, max_length=GUIDED_VALUE_MAX)
    auto: bool = False
    ref: str | None = Field(default=None, max_length=64)


class GuidedChoice(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str
    label: str
    primary: bool = False


class GuidedField(BaseModel):
    """The one thing typed on this step (None when the step only has buttons)."""

    model_config = ConfigDict(extra="ignore")
    name: str
    label: str
    kind: str = "text"
    hint: str = ""
    prefill: str = ""
    numeric: bool = False
    autocomplete: str = "off"
    optional: bool = False  # the greeting's "or type what you need"


class GuidedStep(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: Literal["guided.step"] = "guided.step"
    protocol_version: int = PROTOCOL_VERSION
    conversation_id: str
    step_id: int
    kind: str
    title: str
    text: str
    speak: str
    note: str = ""  # one line above the text: why the step is asked again, or what was understood
    tone: GuidedTone = "normal"
    choices: list[GuidedChoice] = Field(default_factory=list)
    tools: list[GuidedChoice] = Field(default_factory=list)  # repeat / back / officer, always on screen
    field: GuidedField | None = None
    presses: int = 0
    ticket: str | None = None
    tracking: str | None = None
    counter: int | None = None
    service_id: str | None = None
    handoff_id: int | None = None
    repeat: bool = False  # the same step again on "Ulangi": say it again
    final: bool = False  # the visit is over; the client may leave guided mode
    ref: str | None = None
