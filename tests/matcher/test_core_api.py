"""The public reading and reasons of the core (docs/core-api.md): `read` and its `Locator`, `read_update` reading an
upload once, `check_integrity` with a locator, and `pair_failures` / `room_failures`."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

import matcher
import matcher.io.tables as tables_module
from tests.factories import (
    PLAN_DATE,
    dataset_rows,
    make_instance,
    make_participant,
    make_site,
    make_slot,
    write_rows,
)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return write_rows(tmp_path / "set", dataset_rows())


def count_reads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every CSV folder the reader reads, in order."""
    read: list[Path] = []
    real = tables_module._read_csv_folder

    def spy(path: Path, limits):  # type: ignore[no-untyped-def]
        read.append(path)
        return real(path, limits)

    monkeypatch.setattr(tables_module, "_read_csv_folder", spy)
    return read


# --- read and its locator ----------------------------------------------------------------------------------------


def test_read_returns_the_instance_its_warnings_and_where_each_record_is(folder: Path) -> None:
    dataset = matcher.read(folder)
    assert (dataset.instance, dataset.warnings) == matcher.read_dataset(folder)
    loc = dataset.locator
    assert loc.of("slots", "sewing", "seats") == matcher.Location("slots.csv", 3, "seats")
    assert loc.of("participants", "P003") == matcher.Location("participants.csv", 4, "")
    assert loc.of("travel_times", ("P001", "vasby"), "minutes") == matcher.Location("travel_times.csv", 2, "minutes")
    expected = matcher.Problem("sites.csv", 3, "lat", "too far north")
    assert loc.problem("sites", "vasby", "lat", "too far north") == expected
    assert loc.of("slots", "no-such-slot") == matcher.Location("slots.csv", 0, "")  # no file holds it
    with pytest.raises(KeyError, match="not a table"):
        loc.of("slot", "sewing")


def test_the_locator_counts_blank_rows_as_the_spreadsheet_does(folder: Path) -> None:
    path = folder / "slots.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join([lines[0], lines[1], ",,,,,,,,,,,,,,", *lines[2:]]) + "\n", encoding="utf-8")
    loc = matcher.read(folder).locator
    assert [loc.of("slots", s).row for s in ("furniture", "sewing", "shop")] == [2, 4, 5]


def test_a_workbook_is_located_by_its_sheets(tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for name, rows in dataset_rows().items():
        sheet = book.create_sheet(name)
        sheet.append(list(rows[0]))
        for row in rows:
            sheet.append(list(row.values()))
    book.save(tmp_path / "region.xlsx")
    loc = matcher.read(tmp_path / "region.xlsx").locator
    assert loc.of("slots", "shop", "days") == matcher.Location("region.xlsx[slots]", 4, "days")


def test_check_integrity_names_rows_by_the_locator(folder: Path) -> None:
    dataset = matcher.read(folder)
    # P002 is pinned in shop; two seats fewer than the pinned people there is a problem of the slot's row.
    shop = next(s for s in dataset.instance.slots if s.slot_id == "shop")
    people = [replace(p, current_slot_id="shop", pinned=True) for p in dataset.instance.participants]
    broken = replace(
        dataset.instance,
        slots=tuple(replace(s, seats=1) if s is shop else s for s in dataset.instance.slots),
        participants=tuple(people),
    )
    problems, _ = matcher.check_integrity(broken, dataset.locator)
    assert [(p.file, p.row, p.column) for p in problems] == [("slots.csv", 4, "seats")]
    without, _ = matcher.check_integrity(broken)
    assert [(p.file, p.row) for p in without] == [("slots.csv", 0)]


# --- read_update -------------------------------------------------------------------------------------------------


def test_a_whole_upload_is_read_once_and_the_base_is_not_asked(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reads = count_reads(monkeypatch)

    def base() -> matcher.Instance:
        raise AssertionError("a whole set needs no base")

    update = matcher.read_update(folder, base)
    assert reads == [folder]
    assert not update.partial and update.tables == frozenset(matcher.TABLE_NAMES)
    assert update.instance == update.complete == matcher.load_dataset(folder)
    assert update.locator.of("slots", "shop") == matcher.Location("slots.csv", 4, "")


def test_an_upload_of_some_tables_is_read_over_the_base_and_located_in_the_upload(
    tmp_path: Path, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = matcher.load_dataset(folder)
    rows = dataset_rows()
    upload = write_rows(tmp_path / "upload", {"slots": [{**rows["slots"][2], "seats": "5"}]})
    reads = count_reads(monkeypatch)
    update = matcher.read_update(upload, lambda: base)
    assert reads.count(upload) == 1
    assert update.partial and update.tables == frozenset({"slots"})
    assert [s.slot_id for s in update.instance.slots] == ["shop"] and update.instance.participants == ()
    assert {s.slot_id: s.seats for s in update.complete.slots} == {"furniture": 2, "sewing": 1, "shop": 5}
    assert update.locator.of("slots", "shop", "seats") == matcher.Location("slots.csv", 2, "seats")
    assert update.locator.of("slots", "furniture").row == 0  # the base's, not in the upload
    assert update.locator.of("participants", "P001") == matcher.Location("participants.csv", 0, "")


def test_an_upload_of_no_table_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(matcher.InvalidDataset) as raised:
        matcher.read_update(empty, lambda: make_instance())
    assert [p.message for p in raised.value.problems] == [f"holds none of the tables {', '.join(matcher.TABLE_NAMES)}"]


def test_the_service_reads_an_upload_once(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from service.imports.service import UploadedFile, read_upload

    files = [UploadedFile(p.name, p.read_bytes()) for p in sorted(folder.glob("*.csv"))]
    reads = count_reads(monkeypatch)
    uploaded = read_upload(files, lambda: make_instance())
    assert len(reads) == 1
    assert uploaded.where.of("participants", "P002") == matcher.Location("participants.csv", 3, "")


# --- pair_failures and room_failures -----------------------------------------------------------------------------


def test_pair_failures_gives_every_broken_rule_in_order_as_the_plan_checker_words_it(folder: Path) -> None:
    instance = matcher.load_dataset(folder)
    compiled = matcher.prepare(instance)
    assert matcher.pair_failures(instance, "P001", "sewing", PLAN_DATE) == []
    assert [f.rule for f in matcher.pair_failures(compiled, "P003", "sewing", PLAN_DATE)] == ["gender_ok"]
    failures = matcher.pair_failures(instance, "P002", "furniture", PLAN_DATE)
    labels = [f.rule for f in failures]
    assert {"programme_ok", "not_avoided"} <= set(labels)
    assert labels == [r for r in matcher.RULES if r in labels]
    people = [replace(p, pinned=False, current_slot_id=None) for p in instance.participants]
    checked = matcher.check_plan(replace(instance, participants=tuple(people)), {"P002": "furniture"}, PLAN_DATE)
    assert checked == [f"participant P002 in furniture: {f.rule}: {f.message}" for f in failures]


def test_pair_failures_uses_the_travel_time_given_for_the_pair(folder: Path) -> None:
    instance = matcher.load_dataset(folder)
    slower = replace(instance, travel_times=(matcher.TravelTime("P001", "vasby", 70),))
    assert [(f.rule, f.message) for f in matcher.pair_failures(slower, "P001", "sewing", PLAN_DATE)] == [
        ("travel_ok", "travel 70 min > 60 min")
    ]


def test_pair_failures_refuses_unknown_ids(folder: Path) -> None:
    instance = matcher.load_dataset(folder)
    with pytest.raises(matcher.UnknownParticipant):
        matcher.pair_failures(instance, "P999", "sewing", PLAN_DATE)
    with pytest.raises(matcher.UnknownSlot):
        matcher.pair_failures(instance, "P001", "nowhere", PLAN_DATE)


def test_room_failures_counts_seats_with_the_persons_own_as_free() -> None:
    compiled = matcher.prepare(
        make_instance(
            participants=[make_participant(participant_id="p1"), make_participant(participant_id="p2")],
            slots=[make_slot(slot_id="s1", seats=1)],
        )
    )
    assert matcher.room_failures(compiled, "p1", "s1") == []  # nobody holds it
    taken = matcher.Occupancy({"s1": ("p2",)})
    assert [(f.rule, f.message) for f in matcher.room_failures(compiled, "p1", "s1", taken)] == [
        ("seats_free", "no seats left")
    ]
    assert matcher.room_failures(compiled, "p2", "s1", taken) == []  # their own seat
    with pytest.raises(matcher.UnknownSlot):
        matcher.room_failures(compiled, "p1", "s9")


def test_room_failures_counts_the_sites_supervision() -> None:
    compiled = matcher.prepare(
        make_instance(
            participants=[make_participant(participant_id="p1"), make_participant(participant_id="p2")],
            slots=[make_slot(slot_id="s1", seats=5, supervision_ratio=0.25)],
            sites=[make_site(site_id="t1", supervisor_hours=6)],
        )
    )
    held = matcher.Occupancy({"s1": ("p2",)})  # 20 h × 0.25 = 5 of 6 supervisor hours
    assert [(f.rule, f.message) for f in matcher.room_failures(compiled, "p1", "s1", held)] == [
        ("supervision_free", "supervision full (1 h left, 5 h needed)")
    ]
