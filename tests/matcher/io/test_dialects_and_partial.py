"""The CSV dialects a data set is written in (`matcher.io.dialects`) and reading some tables over a base
(`matcher.io.partial`), on the sample region."""

from __future__ import annotations

from pathlib import Path

import pytest

from matcher import InvalidDataset, read_dataset, write_dataset
from matcher.io.dialects import COMMA, SEMICOLON, cell_text, dataset_files
from matcher.io.partial import SERVICE_FILE, read_partial

SAMPLE = Path(__file__).resolve().parents[3] / "data" / "sample"


def write_files(folder: Path, files: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (folder / name).write_bytes(content)
    return folder


@pytest.fixture(scope="module")
def sample():
    return read_dataset(SAMPLE)[0]


def test_cells_in_each_dialect():
    assert [cell_text(v, SEMICOLON) for v in (2.5, 59.550000000000004, 10.0, 3, True, None)] == [
        "2,5", "59,550000000000004", "10", "3", "true", "",
    ]  # fmt: skip
    assert [cell_text(v, COMMA) for v in (2.5, frozenset({"thu", "mon"}), ("b", "a"))] == ["2.5", "mon|thu", "b|a"]


def test_the_semicolon_dialect_reads_back_as_the_same_instance(tmp_path, sample):
    files = dataset_files(sample, SEMICOLON)
    assert all(content.startswith(b"\xef\xbb\xbf") and b"\r\n" in content for content in files.values())
    assert b"0,3" in files["slots.csv"]  # decimal commas
    assert read_dataset(write_files(tmp_path, files))[0] == sample


def test_the_comma_dialect_is_what_write_dataset_writes(tmp_path, sample):
    write_dataset(sample, tmp_path / "core")
    for name, content in dataset_files(sample, COMMA).items():
        assert content == (tmp_path / "core" / name).read_bytes(), name


def test_a_few_rows_of_one_table_over_the_base(tmp_path, sample):
    slots = dataset_files(sample, SEMICOLON)["slots.csv"].decode("utf-8-sig").split("\r\n")
    changed = slots[1].replace(";0,3;", ";0,5;")
    assert changed != slots[1]
    upload = write_files(tmp_path / "up", {"slots.csv": "\r\n".join([slots[0], changed, ""]).encode()})
    read = read_partial(upload, sample)
    assert read.tables == frozenset({"slots"})
    assert [s.slot_id for s in read.uploaded.slots] == [sample.slots[0].slot_id]
    assert read.uploaded.slots[0].supervision_ratio == 0.5
    assert (read.uploaded.enterprises, read.uploaded.participants) == ((), ())
    assert len(read.complete.slots) == len(sample.slots) and read.complete.participants == sample.participants


def test_a_problem_of_the_upload_keeps_its_row_and_one_of_the_base_names_the_record(tmp_path, sample):
    header = "slot_id;site_id;activity;seats;min_hours;max_hours;days;supervision_ratio"
    upload = write_files(tmp_path / "up", {"slots.csv": f"{header}\r\nnew;nowhere;x;1;1;10;mon;0,25\r\n".encode()})
    with pytest.raises(InvalidDataset) as raised:
        read_partial(upload, sample)
    assert [(p.file, p.row, p.column) for p in raised.value.problems] == [("slots.csv", 2, "site_id")]

    # A pinned participant's slot needs 40 times the supervision: the limit broken is its site's, not in the upload.
    pinned = next(p for p in sample.participants if p.pinned and p.current_slot_id == "bla_vagen_assembly")
    slot = next(s for s in sample.slots if s.slot_id == pinned.current_slot_id)
    row = f"{slot.slot_id};{slot.site_id};{slot.activity};{slot.seats};{slot.min_hours};{slot.max_hours};mon;10"
    upload = write_files(tmp_path / "up2", {"slots.csv": f"{header}\r\n{row}\r\n".encode()})
    with pytest.raises(InvalidDataset) as raised:
        read_partial(upload, sample)
    [problem] = raised.value.problems
    assert (problem.file, problem.row, problem.column) == (SERVICE_FILE, 0, "supervisor_hours")
    assert problem.message.startswith(f"site '{slot.site_id}', not in the upload: ")
