"""Request and response bodies for enterprises, sites and slots; they mirror docs/data-format.md."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, ClassVar, Literal, Self, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError

import matcher
from service.fields import (
    MAX_CODES,
    MAX_DAYS,
    MAX_TEXT_LENGTH,
    Id,
    Name,
)
from service.params import iso_day

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
        json_schema_extra={"enum": list(matcher.municipality_names())},
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

    @field_validator("*", mode="before")
    @classmethod
    def _as_published(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name or "")
        return as_published(value, field.annotation if field is not None else None)

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema = handler(core_schema)
        for prop in handler.resolve_ref_schema(schema).get("properties", {}).values():
            _publish_text_rule(prop)
        return schema

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


def as_published(value: Any, annotation: Any) -> Any:
    """`value` for a field of type `annotation` as the schema publishes it: a boolean is `true` or `false`, a
    number is not a boolean, and a day is `YYYY-MM-DD` (pydantic alone would read `0` as false, `false` as 0 and
    `"0"` as 1970-01-01); nested models (the plan's weights) alike. Anything else is left to pydantic."""
    kinds = {annotation, *get_args(annotation)}
    if value is None:
        return value
    if bool in kinds and not isinstance(value, bool):
        raise ValueError("must be true or false")
    if bool not in kinds and kinds & {int, float} and isinstance(value, bool):
        raise ValueError("must be a number, not true or false")
    if date in kinds:
        return iso_day(value)
    if isinstance(value, dict):
        for kind in kinds:
            if isinstance(kind, type) and issubclass(kind, BaseModel):
                for name, item in value.items():
                    if name in kind.model_fields:
                        as_published(item, kind.model_fields[name].annotation)
    return value


# Free text without a pattern of its own: published with the characters the validation above refuses (the core's
# one list, `matcher.UNSAFE_TEXT_CLASS`).
TEXT_PATTERN = f"^[^{matcher.UNSAFE_TEXT_CLASS}]*$"


def _publish_text_rule(node: dict[str, Any]) -> None:
    if node.get("type") == "string" and TEXT_PATTERN and not ({"enum", "format", "const"} & set(node)):
        if "pattern" not in node:
            node["pattern"] = TEXT_PATTERN
        elif node["pattern"] != TEXT_PATTERN:  # an id's own pattern, and no control characters either
            node.setdefault("allOf", []).append({"pattern": TEXT_PATTERN})
    for key in ("anyOf", "oneOf"):
        for option in node.get(key, []):
            _publish_text_rule(option)
    if isinstance(node.get("items"), dict):
        _publish_text_rule(node["items"])


class Patch(Strict):
    """A partial update: a field left out is kept. Only the fields in `nullable` may be sent as null (to clear them);
    the service refuses null for the others (422), so the published schema does not offer null for them either."""

    nullable: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="before")
    @classmethod
    def _null_only_where_allowed(cls, value: Any, info: ValidationInfo) -> Any:
        # Here, before the handler: a PATCH with a null where none is allowed is a 422 whatever its If-Match.
        if value is None and info.field_name not in cls.nullable:
            raise ValueError("cannot be null")
        return value

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema = super().__get_pydantic_json_schema__(core_schema, handler)
        for name, prop in handler.resolve_ref_schema(schema).get("properties", {}).items():
            if name in cls.nullable or "anyOf" not in prop:
                continue
            kept = [s for s in prop.pop("anyOf") if s.get("type") != "null"]
            prop.pop("default", None)
            if len(kept) == 1:
                prop.update(kept[0])
            else:
                prop["anyOf"] = kept
        return schema


class EnterpriseCreate(Strict):
    id: Id
    name: Name
    municipality: Municipality


class EnterpriseUpdate(Patch):
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


class SiteUpdate(Patch):
    nullable = frozenset({"supervisor_hours"})

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


class SlotUpdate(Patch):
    """A capacity change: only the fields sent are changed."""

    nullable = frozenset({"min_age", "max_age", "available_from", "available_to"})

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


class ScheduledSlotChangeCreate(Patch):
    """Slot capacity from a date on: only the fields sent change (at least one)."""

    nullable = frozenset({"available_from", "available_to"})
    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 2})  # a field to change

    effective_from: date = Field(description="the first day the change holds; tomorrow or later")
    seats: int | None = Field(None, ge=0, le=10_000)
    seats_delta: int | None = Field(
        None,
        ge=-10_000,
        le=10_000,
        description="relative: this many seats more (or fewer, negative) than whatever is in force on the date, "
        "earlier dated changes included; not with `seats`",
    )
    min_hours: int | None = Field(None, ge=0, le=40)
    max_hours: int | None = Field(None, ge=0, le=40)
    days: list[Weekday] | None = Field(None, min_length=1, max_length=MAX_DAYS)
    available_from: date | None = None
    available_to: date | None = None


class ScheduledSiteChangeCreate(Patch):
    """Site capacity from a date on: supervisor_hours (null = no limit), or supervisor_hours_delta."""

    nullable = frozenset({"supervisor_hours"})
    # Exactly one of the two, as the service checks (422 for neither, or both).
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "required": ["effective_from"],
            "oneOf": [{"required": ["supervisor_hours"]}, {"required": ["supervisor_hours_delta"]}],
        },
    )

    effective_from: date = Field(description="the first day the change holds; tomorrow or later")
    supervisor_hours: float | None = Field(None, ge=0, le=10_000)
    supervisor_hours_delta: float | None = Field(
        None,
        ge=-10_000,
        le=10_000,
        description="relative: this many supervisor hours more (or fewer) than are in force on the date; the site "
        "must have a limit then; not with `supervisor_hours`",
    )


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
    in_force_before: dict[str, Any] = Field(description="the changed fields in force on the date without the change")
    in_force_after: dict[str, Any] = Field(
        description="the same fields with it (a relative change resolved against what is in force then)"
    )
    would_gain_a_place: int = Field(
        description="people placed in the plan with the change and not in the one without (for a raise, the new "
        "seats' people; two equally good plans may also swap a few waiting people, see placed_only_without_change)"
    )
    certainly_lose_a_place: int = Field(
        description="holders of an active placement here whose placement ends or must move because the lowered "
        "capacity cannot hold them (the count is forced; which of them, the plan with the change picks); 0 for a raise"
    )
    placed_only_without_change: int = Field(
        description="waiting people (no active placement) whom the optimal plan without the change places and the "
        "optimal plan with it does not: another equally good plan may place them, so this is not a loss the change "
        "causes to anyone holding a place"
    )
    gain_participant_ids: list[str] | None = Field(None, description="coordinators only")
    certainly_lose_participant_ids: list[str] | None = Field(None, description="coordinators only")
    placed_only_without_change_ids: list[str] | None = Field(None, description="coordinators only")
    active_placements: list[int] = Field(
        description="active placements of the slot (or of the site's slots) today; none has an end date of its own"
    )
    over_by: int = Field(
        description="how many of them a lowering of seats leaves without a seat: at least this many must move or end"
    )
    supervisor_hours_needed: float | None = Field(None, description="sites: what the active placements need a week")
    would_have_to_move_or_end: list[int] = Field(
        description="for a lowering: the active placements the plan with the change does not keep where they are "
        "(their holders are the ones counted in certainly_lose_a_place)"
    )
    solve_status: str
