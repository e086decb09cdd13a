"""Participant bodies; they mirror docs/data-format.md. `current_slot_id` is read-only: placements set it."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from service.catalogue.schemas import Municipality, Patch, Strict, Weekday
from service.db.models import MAX_INT
from service.fields import MAX_AVOIDED, MAX_CODES, MAX_DAYS, Id, ParticipantId

Gender = Literal["f", "m", "x"]
TravelMode = Literal["transit", "car", "bike", "walk"]


class ParticipantFields(Strict):
    programme: ParticipantId
    municipality: Municipality
    lat: float = Field(ge=-90, le=90, description="centre of the home area, not the address")
    lon: float = Field(ge=-180, le=180)
    age: int | None = Field(None, ge=0, le=150)
    gender: Gender | None = None
    hours_per_week: int = Field(ge=1, le=40)
    days_available: list[Weekday] = Field(min_length=1, max_length=MAX_DAYS)
    max_travel_minutes: int = Field(gt=0, le=600)
    travel_mode: TravelMode = "transit"
    needs: list[ParticipantId] = Field(default_factory=list, max_length=MAX_CODES)
    preferences: list[ParticipantId] = Field(default_factory=list, max_length=MAX_CODES)
    avoid_enterprises: list[Id] = Field(default_factory=list, max_length=MAX_AVOIDED)
    waiting_since: date | None = None
    pinned: bool = False
    coach_id: int | None = Field(
        None, ge=1, le=MAX_INT, description="the coach user; a coach creating a participant becomes theirs"
    )


class ParticipantCreate(ParticipantFields):
    id: ParticipantId


class ParticipantUpdate(Patch):
    nullable = frozenset({"age", "gender", "waiting_since", "coach_id"})

    programme: ParticipantId | None = None
    municipality: Municipality | None = None
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    age: int | None = Field(None, ge=0, le=150)
    gender: Gender | None = None
    hours_per_week: int | None = Field(None, ge=1, le=40)
    days_available: list[Weekday] | None = Field(None, min_length=1, max_length=MAX_DAYS)
    max_travel_minutes: int | None = Field(None, gt=0, le=600)
    travel_mode: TravelMode | None = None
    needs: list[ParticipantId] | None = Field(None, max_length=MAX_CODES)
    preferences: list[ParticipantId] | None = Field(None, max_length=MAX_CODES)
    avoid_enterprises: list[Id] | None = Field(None, max_length=MAX_AVOIDED)
    waiting_since: date | None = None
    pinned: bool | None = None
    coach_id: int | None = Field(None, ge=1, le=MAX_INT)


class ParticipantPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    programme: str
    municipality: str
    lat: float
    lon: float
    age: int | None
    gender: str | None
    hours_per_week: int
    days_available: list[str]
    max_travel_minutes: int
    travel_mode: str
    needs: list[str]
    preferences: list[str]
    avoid_enterprises: list[str]
    waiting_since: date | None
    pinned: bool
    coach_id: int | None
    current_slot_id: str | None = None
