"""Checks that span a whole instance: references resolve, ids are unique, and pinned people fit their limits.

Used by the file reader (which knows rows) and by anything else that builds an `Instance` (which may not).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from matcher.domain import Instance
from matcher.problems import Problem

SUPERVISION_TOLERANCE = 1e-6


@dataclass(frozen=True)
class RowLocator:
    """Where each record came from: file names per table and spreadsheet rows per record index."""

    files: dict[str, str] = field(default_factory=dict)
    rows: dict[str, dict[int, int]] = field(default_factory=dict)

    def file(self, table: str) -> str:
        return self.files.get(table, f"{table}.csv")

    def row(self, table: str, index: int) -> int:
        return self.rows.get(table, {}).get(index, 0)


def check_integrity(instance: Instance, locator: RowLocator | None = None) -> tuple[list[Problem], list[Problem]]:
    """Return (problems, warnings). An instance with problems must not be planned."""
    loc = locator or RowLocator()
    problems: list[Problem] = []
    warnings: list[Problem] = []

    def problem(table: str, index: int, column: str, message: str) -> None:
        problems.append(Problem(loc.file(table), loc.row(table, index), column, message))

    def warning(table: str, index: int, column: str, message: str) -> None:
        warnings.append(Problem(loc.file(table), loc.row(table, index), column, message))

    for table, ids in (
        ("enterprises", [e.enterprise_id for e in instance.enterprises]),
        ("sites", [s.site_id for s in instance.sites]),
        ("slots", [s.slot_id for s in instance.slots]),
        ("participants", [p.participant_id for p in instance.participants]),
    ):
        counts = Counter(ids)
        seen: set[str] = set()
        for i, key in enumerate(ids):
            if counts[key] > 1 and key in seen:
                problem(table, i, f"{table[:-1]}_id", f"duplicate id '{key}'")
            seen.add(key)

    enterprise_ids = {e.enterprise_id for e in instance.enterprises}
    sites_by_id = {s.site_id: s for s in instance.sites}
    slots_by_id = {s.slot_id: s for s in instance.slots}
    participant_ids = {p.participant_id for p in instance.participants}

    for i, site in enumerate(instance.sites):
        if site.enterprise_id not in enterprise_ids:
            problem("sites", i, "enterprise_id", f"unknown enterprise '{site.enterprise_id}'")
    for i, slot in enumerate(instance.slots):
        if slot.site_id not in sites_by_id:
            problem("slots", i, "site_id", f"unknown site '{slot.site_id}'")
        if not slot.days:
            warning("slots", i, "days", "no weekdays offered: nobody can be placed here")
    for i, person in enumerate(instance.participants):
        if person.current_slot_id is not None and person.current_slot_id not in slots_by_id:
            problem("participants", i, "current_slot_id", f"unknown slot '{person.current_slot_id}'")
        unknown = sorted(person.avoid_enterprises - enterprise_ids)
        if unknown:
            warning("participants", i, "avoid_enterprises", f"unknown enterprise(s) {', '.join(unknown)}")
        if not person.days_available:
            warning("participants", i, "days_available", "no weekdays available: can only keep a pinned place")
    for i, travel in enumerate(instance.travel_times):
        if travel.participant_id not in participant_ids:
            problem("travel_times", i, "participant_id", f"unknown participant '{travel.participant_id}'")
        if travel.site_id not in sites_by_id:
            problem("travel_times", i, "site_id", f"unknown site '{travel.site_id}'")
    if problems:
        return problems, warnings

    problems += _pinned_limits(instance, loc)
    return problems, warnings


def _pinned_limits(instance: Instance, loc: RowLocator) -> list[Problem]:
    """Pinned people are facts: if they alone overfill a slot or a site's supervision, no plan exists."""
    problems: list[Problem] = []
    slot_index = {s.slot_id: i for i, s in enumerate(instance.slots)}
    site_index = {s.site_id: i for i, s in enumerate(instance.sites)}
    pinned_by_slot: dict[str, list[str]] = defaultdict(list)
    supervision_by_site: dict[str, float] = defaultdict(float)
    pinned_by_site: dict[str, list[str]] = defaultdict(list)
    for person in instance.participants:
        if person.pinned and person.current_slot_id is not None:
            slot = instance.slots[slot_index[person.current_slot_id]]
            pinned_by_slot[slot.slot_id].append(person.participant_id)
            supervision_by_site[slot.site_id] += person.hours_per_week * slot.supervision_ratio
            pinned_by_site[slot.site_id].append(person.participant_id)
    for slot_id, people in pinned_by_slot.items():
        i = slot_index[slot_id]
        seats = instance.slots[i].seats
        if len(people) > seats:
            problems.append(
                Problem(
                    loc.file("slots"),
                    loc.row("slots", i),
                    "seats",
                    f"slot '{slot_id}' has {seats} seat(s) but {len(people)} pinned participants "
                    f"({', '.join(people)}) hold it",
                )
            )
    for site_id, used in supervision_by_site.items():
        i = site_index[site_id]
        limit = instance.sites[i].supervisor_hours
        if limit is not None and used > limit + SUPERVISION_TOLERANCE:
            problems.append(
                Problem(
                    loc.file("sites"),
                    loc.row("sites", i),
                    "supervisor_hours",
                    f"site '{site_id}' gives {limit:g} supervisor hours but its pinned participants "
                    f"({', '.join(pinned_by_site[site_id])}) alone need {used:g}",
                )
            )
    return problems
