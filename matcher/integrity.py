"""Checks that span a whole instance: references resolve, ids are unique, and pinned people fit their limits.

Used by the file reader (which knows rows) and by anything else that builds an `Instance` (which may not).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from matcher.domain import Instance
from matcher.problems import Problem
from matcher.rules import SEATS, SUPERVISION
from matcher.rules import SUPERVISION_TOLERANCE as SUPERVISION_TOLERANCE  # the service imports it from here


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

    columns: dict[str, dict[str, Sequence[Any]]] = {
        "enterprises": {"enterprise_id": [e.enterprise_id for e in instance.enterprises]},
        "sites": {
            "site_id": [t.site_id for t in instance.sites],
            "enterprise_id": [t.enterprise_id for t in instance.sites],
        },
        "slots": {"slot_id": [s.slot_id for s in instance.slots], "site_id": [s.site_id for s in instance.slots]},
        "participants": {
            "participant_id": [p.participant_id for p in instance.participants],
            "current_slot_id": [p.current_slot_id for p in instance.participants],
            "avoid_enterprises": [p.avoid_enterprises for p in instance.participants],
        },
        "travel_times": {
            "participant_id": [t.participant_id for t in instance.travel_times],
            "site_id": [t.site_id for t in instance.travel_times],
        },
    }
    reference_problems, reference_warnings = check_references(columns, loc)
    problems += reference_problems
    warnings += reference_warnings
    for i, slot in enumerate(instance.slots):
        if not slot.days:
            warning("slots", i, "days", "no weekdays offered: nobody can be placed here")
    for i, person in enumerate(instance.participants):
        if not person.days_available:
            warning("participants", i, "days_available", "no weekdays available: can only keep a pinned place")
    if problems:
        return problems, warnings

    problems += _pinned_limits(instance, loc)
    return problems, warnings


# (table, column, the table it names, what a message calls one): the references that must resolve.
REFERENCES: tuple[tuple[str, str, str, str], ...] = (
    ("sites", "enterprise_id", "enterprises", "enterprise"),
    ("slots", "site_id", "sites", "site"),
    ("participants", "current_slot_id", "slots", "slot"),
    ("travel_times", "participant_id", "participants", "participant"),
    ("travel_times", "site_id", "sites", "site"),
)
KEY_COLUMN = {"enterprises": "enterprise_id", "sites": "site_id", "slots": "slot_id", "participants": "participant_id"}


def check_references(
    columns: Mapping[str, Mapping[str, Sequence[Any]]], locator: RowLocator | None = None
) -> tuple[list[Problem], list[Problem]]:
    """(problems, warnings) for references that do not resolve, from the key cells alone.

    `columns[table][column]` holds the column's values by record index, `None` where a cell is empty or did not
    parse. A table or column that is left out (its file or column is missing) is not checked, nor are references
    to it, nor references to a table with an id that did not parse: those problems are reported already. So the
    reader can check every row whose key cells parse, even when other cells of the data set are wrong, and report
    all problems at once.
    """
    loc = locator or RowLocator()
    problems: list[Problem] = []
    warnings: list[Problem] = []
    for table, column, target, what in REFERENCES:
        values = columns.get(table, {}).get(column)
        keys = columns.get(target, {}).get(KEY_COLUMN[target])
        if values is None or keys is None or any(k is None for k in keys):
            continue  # an id that did not parse may be the one referred to: check once it is fixed
        known = set(keys)
        for i, value in enumerate(values):
            if value is not None and value not in known:
                problems.append(Problem(loc.file(table), loc.row(table, i), column, f"unknown {what} '{value}'"))
    avoided = columns.get("participants", {}).get("avoid_enterprises")
    enterprise_ids = columns.get("enterprises", {}).get("enterprise_id")
    if avoided is not None and enterprise_ids is not None:
        known = {k for k in enterprise_ids if k is not None}
        for i, avoid in enumerate(avoided):
            unknown = sorted(set(avoid or ()) - known)
            if unknown:
                warnings.append(
                    Problem(
                        loc.file("participants"),
                        loc.row("participants", i),
                        "avoid_enterprises",
                        f"unknown enterprise(s) {', '.join(unknown)}",
                    )  # fmt: skip
                )
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
            supervision_by_site[slot.site_id] += SUPERVISION.need(person.hours_per_week, slot.supervision_ratio)
            pinned_by_site[slot.site_id].append(person.participant_id)
    for slot_id, people in pinned_by_slot.items():
        i = slot_index[slot_id]
        seats = instance.slots[i].seats
        if not SEATS.fits(len(people), 0, seats):
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
        if not SUPERVISION.fits(used, 0.0, limit):
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
