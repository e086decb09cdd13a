"""Small builders for test data: domain objects with sensible defaults, and raw CSV rows for the reader's tests.

Each builder takes keyword overrides, so a test names only the fields it is about. Set-valued fields accept any
iterable (or a `|`-separated string) and become frozensets; `preferences` becomes a tuple.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from matcher import Enterprise, Instance, Participant, Site, Slot, TravelTime

PLAN_DATE = date(2026, 11, 23)
WORKDAYS = frozenset({"mon", "tue", "wed", "thu", "fri"})
HOME = (59.6167, 17.85)  # Märsta; sites and participants default to the same point, so travel is the overhead only

SET_FIELDS = {"accessibility", "days", "supports", "programmes", "days_available", "needs", "avoid_enterprises"}


def _normalise(overrides: dict[str, Any]) -> dict[str, Any]:
    out = dict(overrides)
    for key, value in overrides.items():
        if key in SET_FIELDS and not isinstance(value, frozenset):
            items = [v.strip() for v in value.split("|") if v.strip()] if isinstance(value, str) else list(value)
            out[key] = frozenset(items)
        elif key == "preferences" and not isinstance(value, tuple):
            out[key] = (
                tuple(v.strip() for v in value.split("|") if v.strip()) if isinstance(value, str) else tuple(value)
            )
    return out


def make_enterprise(enterprise_id: str = "e1", **overrides: Any) -> Enterprise:
    fields: dict[str, Any] = {
        "enterprise_id": enterprise_id,
        "name": f"Enterprise {enterprise_id}",
        "municipality": "Sigtuna",
    }
    fields.update(overrides)
    return Enterprise(**fields)


def make_site(**overrides: Any) -> Site:
    fields: dict[str, Any] = {
        "site_id": "t1",
        "enterprise_id": "e1",
        "name": "Sigtuna Hantverkshus",
        "municipality": "Sigtuna",
        "lat": HOME[0],
        "lon": HOME[1],
    }
    fields.update(_normalise(overrides))
    return Site(**fields)


def make_slot(**overrides: Any) -> Slot:
    fields: dict[str, Any] = {
        "slot_id": "s1",
        "site_id": "t1",
        "activity": "sewing",
        "seats": 1,
        "min_hours": 10,
        "max_hours": 30,
        "days": WORKDAYS,
    }
    fields.update(_normalise(overrides))
    return Slot(**fields)


def make_participant(**overrides: Any) -> Participant:
    fields: dict[str, Any] = {
        "participant_id": "p1",
        "programme": "SAMRE",
        "municipality": "Sigtuna",
        "lat": HOME[0],
        "lon": HOME[1],
        "hours_per_week": 20,
        "days_available": WORKDAYS,
        "max_travel_minutes": 60,
    }
    fields.update(_normalise(overrides))
    return Participant(**fields)


def make_travel(participant_id: str, site_id: str, minutes: int) -> TravelTime:
    return TravelTime(participant_id, site_id, minutes)


def make_instance(
    participants: Sequence[Participant] | None = None,
    slots: Sequence[Slot] | None = None,
    sites: Sequence[Site] | None = None,
    enterprises: Sequence[Enterprise] | None = None,
    travel_times: Iterable[TravelTime] = (),
) -> Instance:
    """An instance; sites and enterprises that slots and sites refer to are made with defaults when not given."""
    participants = list(participants) if participants is not None else [make_participant()]
    slots = list(slots) if slots is not None else [make_slot()]
    sites = list(sites) if sites is not None else []
    known_sites = {t.site_id for t in sites}
    for slot in slots:
        if slot.site_id not in known_sites:
            sites.append(make_site(site_id=slot.site_id))
            known_sites.add(slot.site_id)
    enterprises = list(enterprises) if enterprises is not None else []
    known_enterprises = {e.enterprise_id for e in enterprises}
    for site in sites:
        if site.enterprise_id not in known_enterprises:
            enterprises.append(make_enterprise(site.enterprise_id))
            known_enterprises.add(site.enterprise_id)
    return Instance(tuple(enterprises), tuple(sites), tuple(slots), tuple(participants), tuple(travel_times))


# --- raw rows, for the reader and the command line -------------------------------------------------------------

Rows = dict[str, list[dict[str, str]]]


def dataset_rows() -> Rows:
    """A tiny valid data set as text cells: 2 enterprises, 2 sites, 3 slots, 3 participants, 1 travel time."""
    return {
        "enterprises": [
            {"enterprise_id": "vioni", "name": "VioNi Samhällsentreprenörer", "municipality": "Sigtuna"},
            {"enterprise_id": "varme", "name": "Värmekällan", "municipality": "Upplands Väsby"},
        ],
        "sites": [
            {
                "site_id": "hantverk", "enterprise_id": "vioni", "name": "Sigtuna Hantverkshus",
                "municipality": "Sigtuna", "lat": "59.6167", "lon": "17.85", "accessibility": "wheelchair",
                "supervisor_hours": "10",
            },
            {
                "site_id": "vasby", "enterprise_id": "varme", "name": "Värmekällan Väsby",
                "municipality": "Upplands Väsby", "lat": "59.52", "lon": "17.91",
                "accessibility": "wheelchair | quiet_room", "supervisor_hours": "",
            },
        ],
        "slots": [
            {
                "slot_id": "furniture", "site_id": "hantverk", "activity": "furniture_renovation", "seats": "2",
                "min_hours": "10", "max_hours": "30", "days": "mon|tue|wed|thu|fri", "supports": "",
                "programmes": "SAMRE", "min_age": "", "max_age": "", "women_only": "false", "supervision_ratio": "0.25",
                "available_from": "", "available_to": "",
            },
            {
                "slot_id": "sewing", "site_id": "vasby", "activity": "sewing", "seats": "1",
                "min_hours": "5", "max_hours": "20", "days": "mon|wed", "supports": "swedish_support",
                "programmes": "", "min_age": "18", "max_age": "64", "women_only": "true", "supervision_ratio": "0.25",
                "available_from": "2026-01-01", "available_to": "2026-12-31",
            },
            {
                "slot_id": "shop", "site_id": "vasby", "activity": "second_hand_shop", "seats": "3",
                "min_hours": "5", "max_hours": "40", "days": "mon|tue|wed|thu|fri|sat", "supports": "",
                "programmes": "", "min_age": "", "max_age": "", "women_only": "", "supervision_ratio": "",
                "available_from": "", "available_to": "",
            },
        ],
        "participants": [
            {
                "participant_id": "P001", "programme": "SAMRE", "municipality": "Sigtuna", "lat": "59.62",
                "lon": "17.86", "age": "34", "gender": "f", "hours_per_week": "15", "days_available": "mon|wed",
                "max_travel_minutes": "60", "travel_mode": "transit", "needs": "wheelchair",
                "preferences": "sewing|furniture_renovation", "avoid_enterprises": "", "waiting_since": "2026-03-01",
                "current_slot_id": "", "pinned": "",
            },
            {
                "participant_id": "P002", "programme": "MIA", "municipality": "Upplands Väsby", "lat": "59.51",
                "lon": "17.92", "age": "", "gender": "", "hours_per_week": "20", "days_available": "tue|thu",
                "max_travel_minutes": "45", "travel_mode": "bike", "needs": "", "preferences": "second_hand_shop",
                "avoid_enterprises": "vioni", "waiting_since": "", "current_slot_id": "shop", "pinned": "yes",
            },
            {
                "participant_id": "P003", "programme": "SAMRE", "municipality": "Sigtuna", "lat": "59.60",
                "lon": "17.80", "age": "51", "gender": "m", "hours_per_week": "10",
                "days_available": "mon|tue|wed|thu|fri",
                "max_travel_minutes": "90", "travel_mode": "car", "needs": "", "preferences": "",
                "avoid_enterprises": "", "waiting_since": "2025-11-23", "current_slot_id": "", "pinned": "no",
            },
        ],
        "travel_times": [{"participant_id": "P001", "site_id": "vasby", "minutes": "40"}],
    }  # fmt: skip


def write_rows(
    folder: Path,
    rows: Rows,
    sep: str = ",",
    bom: bool = False,
    columns: dict[str, Sequence[str]] | None = None,
    encoding: str | None = None,
    line_end: str = "\n",
) -> Path:
    """Write each table of `rows` as `<name>.csv` in `folder` (columns in the rows' order unless given).

    `encoding` is a Python codec name (`cp1252`, `utf-16`); the default is UTF-8, with a byte-order mark if `bom`.
    """
    folder.mkdir(parents=True, exist_ok=True)
    codec = encoding or ("utf-8-sig" if bom else "utf-8")
    for name, table in rows.items():
        header = list((columns or {}).get(name) or (table[0].keys() if table else []))
        with (folder / f"{name}.csv").open("w", newline="", encoding=codec) as handle:
            writer = csv.writer(handle, delimiter=sep, lineterminator=line_end)
            writer.writerow(header)
            for row in table:
                writer.writerow([row.get(column, "") for column in header])
    return folder
