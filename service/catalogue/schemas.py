"""Request and response bodies for enterprises, sites and slots; they mirror docs/data-format.md."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

import matcher
from service.fields import (
    MAX_CODES,
    MAX_DAYS,
    MAX_TEXT_LENGTH,
    Id,
    Name,
)

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def _official_municipality(text: str) -> str:
    """The name an import would read (`upplands vasby` -> `Upplands Väsby`), with the reader's own function and
    message, so the API stores nothing an import would refuse and an export imports back unchanged."""
    try:
        return matcher.official_name(text)
    except ValueError as exc:
        # The message as the reader words it ("'Sigtna' is not a Swedish municipality; did you mean Sigtuna?"),
        # without pydantic's "Value error, " prefix; passed as context so braces in the text are not a template.
        raise PydanticCustomError("municipality", "{reason}", {"reason": str(exc)}) from None


Municipality = Annotated[
    str,
    Field(
        min_length=1,
        max_length=100,
        description="one of Sweden's 290 municipalities (SCB); a near miss in case, hyphens or diacritics "
        "(`upplands vasby`) is stored as the official name (`Upplands Väsby`), as an import reads it",
        examples=["Sigtuna", "Upplands Väsby"],
    ),
    AfterValidator(_official_municipality),
]


class Strict(BaseModel):
    """Request bodies: unknown fields are refused (no mass assignment), and so is any text with a character an
    import would refuse (`matcher.unsafe_character`: controls but tab and line feed, DEL, C1, zero-width, bidi, …) or
    longer than `MAX_TEXT_LENGTH`: PostgreSQL cannot store NUL (SQLite would, so both databases answer alike),
    workbooks cannot hold the others, and an export must import back unchanged. Ids, codes and names have their own
    types (service.fields), checked by the reader's functions."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_unsafe_characters(cls, value: Any) -> Any:
        for text in value if isinstance(value, list) else [value]:
            if not isinstance(text, str):
                continue
            bad = matcher.unsafe_character(text)
            if bad:
                raise PydanticCustomError("unsafe_text", "text must not hold {bad}", {"bad": bad})
            if len(text) > MAX_TEXT_LENGTH:
                raise PydanticCustomError("too_long", "text has at most {n} characters", {"n": MAX_TEXT_LENGTH})
        return value


class EnterpriseCreate(Strict):
    id: Id
    name: Name
    municipality: Municipality


class EnterpriseUpdate(Strict):
    name: Name | None = None
    municipality: Municipality | None = None


class EnterprisePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    name: str
    municipality: str


class SiteFields(Strict):
    name: Name
    municipality: Municipality
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    accessibility: list[Id] = Field(default_factory=list, max_length=MAX_CODES)
    supervisor_hours: float | None = Field(None, ge=0, le=10_000, description="per week; null = no limit")


class SiteCreate(SiteFields):
    id: Id
    enterprise_id: Id


class SiteUpdate(Strict):
    name: Name | None = None
    municipality: Municipality | None = None
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    accessibility: list[Id] | None = Field(None, max_length=MAX_CODES)
    supervisor_hours: float | None = Field(None, ge=0, le=10_000)


class SitePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    enterprise_id: str
    name: str
    municipality: str
    lat: float
    lon: float
    accessibility: list[str]
    supervisor_hours: float | None
    version: int


class SlotFields(Strict):
    activity: Id
    seats: int = Field(ge=0, le=10_000)
    min_hours: int = Field(ge=0, le=40)
    max_hours: int = Field(ge=0, le=40)
    days: list[Weekday] = Field(min_length=1, max_length=MAX_DAYS)
    supports: list[Id] = Field(default_factory=list, max_length=MAX_CODES)
    programmes: list[Id] = Field(default_factory=list, max_length=MAX_CODES)
    min_age: int | None = Field(None, ge=0, le=150)
    max_age: int | None = Field(None, ge=0, le=150)
    women_only: bool = False
    supervision_ratio: float = Field(0.25, ge=0, le=100)
    available_from: date | None = None
    available_to: date | None = None

    @model_validator(mode="after")
    def _ranges(self) -> Self:
        check_slot_ranges(
            self.min_hours, self.max_hours, self.min_age, self.max_age, self.available_from, self.available_to
        )
        return self


def check_slot_ranges(
    min_hours: int | None,
    max_hours: int | None,
    min_age: int | None,
    max_age: int | None,
    available_from: date | None,
    available_to: date | None,
) -> None:
    for low, high, name in (
        (min_hours, max_hours, "max_hours"),
        (min_age, max_age, "max_age"),
        (available_from, available_to, "available_to"),
    ):
        if low is not None and high is not None and low > high:  # type: ignore[operator]
            raise ValueError(f"{name} ({high}) is before its lower bound ({low})")


class SlotCreate(SlotFields):
    id: Id
    site_id: Id


class SlotUpdate(Strict):
    """A capacity change: only the fields sent are changed."""

    activity: Id | None = None
    seats: int | None = Field(None, ge=0, le=10_000)
    min_hours: int | None = Field(None, ge=0, le=40)
    max_hours: int | None = Field(None, ge=0, le=40)
    days: list[Weekday] | None = Field(None, min_length=1, max_length=MAX_DAYS)
    supports: list[Id] | None = Field(None, max_length=MAX_CODES)
    programmes: list[Id] | None = Field(None, max_length=MAX_CODES)
    min_age: int | None = Field(None, ge=0, le=150)
    max_age: int | None = Field(None, ge=0, le=150)
    women_only: bool | None = None
    supervision_ratio: float | None = Field(None, ge=0, le=100)
    available_from: date | None = None
    available_to: date | None = None


class SlotPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    site_id: str
    activity: str
    seats: int
    taken: int = Field(description="seats held by active placements (who holds them is not shown here)")
    min_hours: int
    max_hours: int
    days: list[str]
    supports: list[str]
    programmes: list[str]
    min_age: int | None
    max_age: int | None
    women_only: bool
    supervision_ratio: float
    available_from: date | None
    available_to: date | None
    version: int


class CapacityChangePublic(BaseModel):
    """One changed field of a slot (slot_id set) or of a site (site_id set)."""

    model_config = ConfigDict(from_attributes=True)
    slot_id: str | None
    site_id: str | None
    user_id: int | None
    changed_at: object
    field: str
    old_value: object
    new_value: object


class ScheduledSlotChangeCreate(Strict):
    """Slot capacity from a date on: only the fields sent change (at least one)."""

    effective_from: date = Field(description="the first day the change holds; tomorrow or later")
    seats: int | None = Field(None, ge=0, le=10_000)
    min_hours: int | None = Field(None, ge=0, le=40)
    max_hours: int | None = Field(None, ge=0, le=40)
    days: list[Weekday] | None = Field(None, min_length=1, max_length=MAX_DAYS)
    available_from: date | None = None
    available_to: date | None = None


class ScheduledSiteChangeCreate(Strict):
    """Site capacity from a date on: supervisor_hours (null = no limit)."""

    effective_from: date = Field(description="the first day the change holds; tomorrow or later")
    supervisor_hours: float | None = Field(None, ge=0, le=10_000)


class ScheduledChangePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    slot_id: str | None
    site_id: str | None
    effective_from: date
    fields: dict[str, Any]
    created_by: int | None
    created_at: object
    base_version: int
    status: str


class ScheduledChangePreview(BaseModel):
    """What a dated change would do on its date: two solves of that day's plan (every active placement kept, but
    for those a lowering leaves no seat), without and with the change. Participant ids only for coordinators."""

    effective_from: date
    fields: dict[str, Any]
    placed_before: int
    placed_after: int
    would_gain_a_place: int
    would_lose_a_place: int
    gain_participant_ids: list[str] | None = Field(None, description="coordinators only")
    lose_participant_ids: list[str] | None = Field(None, description="coordinators only")
    active_placements: list[int] = Field(description="active placements of the slot (none ends on its own)")
    over_by: int = Field(description="how many of them would have to move or end for a lowering of seats (0 if none)")
    supervisor_hours_needed: float | None = Field(None, description="sites: what the active placements need a week")
    would_have_to_move_or_end: list[int] = Field(
        description="for a lowering: the active placements the plan with the change does not keep where they are"
    )
    solve_status: str
