"""The domain objects of a placement data set, as plain typed values (see docs/data-format.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
TRAVEL_MODES: tuple[str, ...] = ("transit", "car", "bike", "walk")
GENDERS: tuple[str, ...] = ("f", "m", "x")
DEFAULT_SUPERVISION_RATIO = 0.25

TravelMode = Literal["transit", "car", "bike", "walk"]
Gender = Literal["f", "m", "x"]


@dataclass(frozen=True, slots=True)
class Enterprise:
    """A work-integration social enterprise (ASF)."""

    enterprise_id: str
    name: str
    municipality: str


@dataclass(frozen=True, slots=True)
class Site:
    """A workplace of an enterprise; supervision hours are a limit shared by its slots."""

    site_id: str
    enterprise_id: str
    name: str
    municipality: str
    lat: float
    lon: float
    accessibility: frozenset[str] = frozenset()
    supervisor_hours: float | None = None


@dataclass(frozen=True, slots=True)
class Slot:
    """One kind of training place at a site, with its seats and the people it can take."""

    slot_id: str
    site_id: str
    activity: str
    seats: int
    min_hours: int
    max_hours: int
    days: frozenset[str]
    supports: frozenset[str] = frozenset()
    programmes: frozenset[str] = frozenset()
    min_age: int | None = None
    max_age: int | None = None
    women_only: bool = False
    supervision_ratio: float = DEFAULT_SUPERVISION_RATIO
    available_from: date | None = None
    available_to: date | None = None


@dataclass(frozen=True, slots=True)
class Participant:
    """A person waiting for or holding a placement, known only by a pseudonymous code."""

    participant_id: str
    programme: str
    municipality: str
    lat: float
    lon: float
    hours_per_week: int
    days_available: frozenset[str]
    max_travel_minutes: int
    age: int | None = None
    gender: str | None = None
    travel_mode: str = "transit"
    needs: frozenset[str] = frozenset()
    preferences: tuple[str, ...] = ()
    avoid_enterprises: frozenset[str] = frozenset()
    waiting_since: date | None = None
    current_slot_id: str | None = None
    pinned: bool = False


@dataclass(frozen=True, slots=True)
class TravelTime:
    """A journey planner's door-to-door minutes for one pair; overrides the estimate."""

    participant_id: str
    site_id: str
    minutes: int


@dataclass(frozen=True, slots=True)
class Instance:
    """A whole data set. Ids are unique per kind and every reference resolves (see `integrity`)."""

    enterprises: tuple[Enterprise, ...]
    sites: tuple[Site, ...]
    slots: tuple[Slot, ...]
    participants: tuple[Participant, ...]
    travel_times: tuple[TravelTime, ...] = field(default=())
