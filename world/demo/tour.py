"""Demo tours as data: ``assets/tours/*.yaml`` validated into pydantic models.

A presenter edits YAML in front of an audience, so a mistake must name the file,
the step (number and title) and the field, never show a pydantic dump.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from protocol.catalog import assets_dir

__all__ = [
    "ANCHOR_RE",
    "Action",
    "CameraKey",
    "Step",
    "Text",
    "Tour",
    "TourError",
    "load_tour",
    "tour_path",
    "tours_dir",
]

EASINGS = ("linear", "in", "out", "in_out", "hold")
# Named places of the hall the camera can frame (resolved against world.layout at render time).
ANCHOR_RE = re.compile(
    r"^(entrance|info_desk|lounge|smart_kampung|overview|board:[0-9]{1,2}|counter:[0-9]{1,2}"
    r"|service:[a-z0-9-]{1,40}|screen:[a-z-]{1,40})$"
)
TRANSITIONS = ("verified", "in_process", "ready", "completed", "needs_revision", "rejected")


class TourError(ValueError):
    """A tour file that cannot be presented; the message is meant for the presenter as is."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(_Model):
    """Text in the tour languages: Indonesian and English always, Japanese when written."""

    id: str = Field(min_length=1, max_length=600)
    en: str = Field(min_length=1, max_length=600)
    ja: str | None = Field(default=None, min_length=1, max_length=600)

    def get(self, lang: str) -> str:
        if lang == "ja" and self.ja:
            return self.ja
        return self.en if lang in ("en", "ja") else self.id


Vec3 = tuple[float, float, float]


class CameraKey(_Model):
    """Where the camera is ``t`` seconds into the step; ``ease`` shapes the move *into* this key."""

    t: float = Field(ge=0.0, le=600.0)
    shot: str | None = Field(default=None, description="Anchor to frame, e.g. info_desk, counter:1, screen:budget")
    pos: Vec3 | None = None
    look: Vec3 | None = None
    distance: float | None = Field(default=None, gt=0.0, le=60.0)
    height: float | None = Field(default=None, ge=0.2, le=40.0)
    ease: Literal["linear", "in", "out", "in_out", "hold"] = "in_out"

    @field_validator("shot")
    @classmethod
    def _anchor(cls, v: str | None) -> str | None:
        if v is not None and not ANCHOR_RE.match(v):
            raise ValueError(
                "unknown anchor; use entrance, info_desk, lounge, smart_kampung, overview, board:N, "
                "counter:N, service:ID or screen:DATASET"
            )
        return v

    @model_validator(mode="after")
    def _where(self) -> CameraKey:
        if self.shot is None and (self.pos is None or self.look is None):
            raise ValueError("give either shot, or both pos and look")
        return self


class _ActionBase(_Model):
    pass


class AskAction(_ActionBase):
    kind: Literal["ask"]
    text: Text
    visitor: str = Field(default="main", max_length=30)


class ApplyAction(_ActionBase):
    kind: Literal["apply"]
    service: str = Field(min_length=1, max_length=40)
    nik: str = Field(pattern=r"^[0-9]{16}$")
    name: str = Field(min_length=1, max_length=60)
    submit: bool = True
    answers: dict[str, str | int] = Field(default_factory=dict, description="Overrides of the example answers")
    visitor: str = Field(default="main", max_length=30)


class TicketAction(_ActionBase):
    kind: Literal["ticket"]
    service: str = Field(min_length=1, max_length=40)
    call: bool = Field(default=True, description="The officer calls the ticket so the board changes")
    visitor: str = Field(default="main", max_length=30)


class TransitionAction(_ActionBase):
    kind: Literal["officer_transition"]
    to: list[Literal["verified", "in_process", "ready", "completed", "needs_revision", "rejected"]] = Field(
        min_length=1, max_length=6
    )
    note: Text | None = None
    tracking: str = Field(default="last", max_length=40, description="'last' = the visitor's latest application")
    visitor: str = Field(default="main", max_length=30)


class StatusAction(_ActionBase):
    kind: Literal["status"]
    visitor: str = Field(default="main", max_length=30)


class DashboardAction(_ActionBase):
    kind: Literal["dashboard"]
    names: list[Literal["village-progress", "budget", "poverty"]] = Field(min_length=1, max_length=3)


class HandoffAction(_ActionBase):
    kind: Literal["handoff"]
    service: str = Field(min_length=1, max_length=40)
    citizen_says: Text
    officer_says: Text
    summary: Text
    visitor: str = Field(default="main", max_length=30)


class GuidedAction(_ActionBase):
    """A guided-mode visit (the server's guided loop, over the socket) pressed through by the script, to a ticket."""

    kind: Literal["guided"]
    name: str = Field(min_length=1, max_length=60)
    nik: str = Field(pattern=r"^[0-9]{16}$")
    service: str = Field(min_length=1, max_length=40)
    choose: list[str] = Field(default_factory=list, max_length=10, description="Button actions to prefer")
    prompts: list[Text] = Field(min_length=1, max_length=12)
    visitor: str = Field(default="guided", max_length=30)


class LahirProcotAction(_ActionBase):
    """A health facility registers a birth; Dukcapil completes it; the signed akta is printed there and verified."""

    kind: Literal["lahir_procot"]
    mother_nik: str = Field(pattern=r"^[0-9]{16}$")
    mother_name: str = Field(min_length=2, max_length=100)
    father_nik: str | None = Field(default=None, pattern=r"^[0-9]{16}$")
    father_name: str | None = Field(default=None, max_length=100)
    child_name: str = Field(min_length=2, max_length=100)
    child_sex: Literal["L", "P"]
    birth_time: str | None = Field(default=None, pattern=r"^[0-2][0-9]:[0-5][0-9]$")


Action = Annotated[
    AskAction
    | ApplyAction
    | TicketAction
    | TransitionAction
    | StatusAction
    | DashboardAction
    | HandoffAction
    | GuidedAction
    | LahirProcotAction,
    Field(discriminator="kind"),
]


class Step(_Model):
    title: Text
    captions: Text
    narration: Text | None = Field(default=None, description="Spoken text; the captions when absent")
    camera: list[CameraKey] = Field(min_length=1, max_length=40)
    action: Action | None = None
    duration: float | Literal["action"] = Field(
        description="Seconds, or 'action' = until the action has finished and the narration is spoken"
    )
    min_duration: float = Field(default=4.0, ge=0.5, le=120.0)

    @field_validator("duration")
    @classmethod
    def _duration(cls, v: float | str) -> float | str:
        if isinstance(v, float | int) and not 0.5 <= float(v) <= 600.0:
            raise ValueError("must be between 0.5 and 600 seconds, or 'action'")
        return v

    @model_validator(mode="after")
    def _coherent(self) -> Step:
        times = [k.t for k in self.camera]
        if times != sorted(times):
            raise ValueError("camera keyframes must be in time order")
        if self.duration == "action" and self.action is None:
            raise ValueError("duration 'action' needs an action")
        if isinstance(self.duration, float | int) and times[-1] > float(self.duration) + 1e-6:
            raise ValueError(f"a camera keyframe (t={times[-1]:g}) lies after the step's duration")
        return self

    def spoken(self, lang: str) -> str:
        return (self.narration or self.captions).get(lang)


class Tour(_Model):
    name: str = Field(min_length=1, max_length=40, pattern=r"^[a-z0-9-]+$")
    title: Text
    default_lang: Literal["id", "en", "ja"] = "id"
    steps: list[Step] = Field(min_length=1, max_length=200)

    def has_japanese(self) -> bool:
        return all(s.captions.ja for s in self.steps)


def tours_dir() -> Path:
    return assets_dir() / "tours"


def tour_path(name_or_path: str | Path) -> Path:
    """A tour name (``default``) maps to assets/tours/default.yaml; anything else is a path."""
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or p.exists():
        return p
    return tours_dir() / f"{name_or_path}.yaml"


def _loc_to_str(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out


def _clean_loc(loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    # pydantic puts the discriminator tag (e.g. "ask") into the path of union members; it is noise here.
    kinds = {"ask", "apply", "ticket", "officer_transition", "status", "dashboard", "handoff", "guided", "lahir_procot"}
    return tuple(p for i, p in enumerate(loc) if not (i > 0 and loc[i - 1] == "action" and p in kinds))


def _message(err: Any) -> str:
    msg = str(err.get("msg", "invalid"))
    if err.get("type") == "missing":
        return "field required"
    if err.get("type") == "extra_forbidden":
        return "unknown field"
    return msg.removeprefix("Value error, ")


def _step_label(raw: Any, index: int) -> str:
    title = ""
    if isinstance(raw, dict):
        t = raw.get("title")
        if isinstance(t, dict):
            t = t.get("id") or t.get("en")
        if isinstance(t, str):
            title = t
    return f"step {index + 1} '{title}'" if title else f"step {index + 1}"


def load_tour(path: str | Path) -> Tour:
    """Read and validate a tour; raise TourError naming file, step and field on any problem."""
    p = tour_path(path)
    shown = _shown(p)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TourError(f"{shown}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TourError(f"{shown}: cannot read ({exc})") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise TourError(f"{shown}:{where} not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(raw, dict):
        raise TourError(f"{shown}: expected a mapping with name, title and steps")
    try:
        return Tour.model_validate(raw)
    except ValidationError as exc:
        raise TourError(_format(shown, raw, exc)) from None


def _shown(p: Path) -> str:
    parts = p.parts
    if "tours" in parts:
        return "/".join(parts[parts.index("tours") :])
    return str(p)


def _format(shown: str, raw: dict[str, Any], exc: ValidationError) -> str:
    lines = []
    got = raw.get("steps")
    steps: list[Any] = got if isinstance(got, list) else []
    for err in exc.errors()[:8]:
        loc = _clean_loc(tuple(err.get("loc", ())))
        if len(loc) >= 2 and loc[0] == "steps" and isinstance(loc[1], int):
            idx = loc[1]
            label = _step_label(steps[idx] if idx < len(steps) else None, idx)
            field = _loc_to_str(loc[2:]) or "step"
            lines.append(f"{shown}: {label}: {field}: {_message(err)}")
        else:
            lines.append(f"{shown}: {_loc_to_str(loc) or 'tour'}: {_message(err)}")
    more = len(exc.errors()) - 8
    if more > 0:
        lines.append(f"{shown}: … and {more} more")
    return "\n".join(lines)
