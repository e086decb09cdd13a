"""Writing data sets, plans and candidate pairs as the CSV files of docs/data-format.md."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

from matcher.domain import Enterprise, Instance, Participant, Site, Slot, TravelTime
from matcher.io.dialects import COMMA, cell_text
from matcher.plan import CandidateRow, Plan

PLAN_COLUMNS = ("participant_id", "slot_id", "site_id", "enterprise_id", "hours_per_week", "travel_minutes", "score")
CANDIDATE_COLUMNS = ("participant_id", "slot_id", "travel_minutes", "score")


def _write(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows([cell_text(v, COMMA) for v in row] for row in rows)
    tmp.replace(path)  # never leave a half-written file behind


def write_dataset(instance: Instance, folder: Path | str) -> None:
    """The instance as a folder of CSV files (travel_times only when it has rows)."""
    folder = Path(folder)
    tables: dict[str, tuple[type, tuple[Any, ...]]] = {
        "enterprises": (Enterprise, instance.enterprises),
        "sites": (Site, instance.sites),
        "slots": (Slot, instance.slots),
        "participants": (Participant, instance.participants),
    }
    if instance.travel_times:
        tables["travel_times"] = (TravelTime, instance.travel_times)
    for name, (kind, records) in tables.items():
        header = [f.name for f in fields(kind)]
        _write(folder / f"{name}.csv", header, ([getattr(r, h) for h in header] for r in records))


def write_plan(plan: Plan, path: Path | str) -> None:
    """plan.csv: every participant exactly once; slot, site, enterprise, travel and score empty when unplaced."""
    _write(
        Path(path),
        PLAN_COLUMNS,
        (
            (r.participant_id, r.slot_id, r.site_id, r.enterprise_id, r.hours_per_week, r.travel_minutes, r.score)
            for r in plan.rows
        ),
    )


def write_candidates(rows: Iterable[CandidateRow], path: Path | str) -> None:
    _write(Path(path), CANDIDATE_COLUMNS, ((r.participant_id, r.slot_id, r.travel_minutes, r.score) for r in rows))
