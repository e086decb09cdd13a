"""`placement check` names every problem as `file:row:column: message`, all at once, with exit status 2; and the
other commands (`solve`, `candidates`, `suggest`) on a tiny data set write what the data format promises."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from matcher import candidates, check_plan, load_dataset
from placement_cli import app
from tests.factories import PLAN_DATE, dataset_rows, write_rows

runner = CliRunner()
DATE = PLAN_DATE.isoformat()


def run(*args: str):  # type: ignore[no-untyped-def]
    result = runner.invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def problem_lines(result) -> list[str]:  # type: ignore[no-untyped-def]
    """The lines of standard error that name a problem (not the closing count, not warnings)."""
    return [
        line for line in result.stderr.splitlines()
        if line and not line.startswith("warning:") and "problem(s) in" not in line and "warning(s)" not in line
    ]  # fmt: skip


@dataclass
class Bad:
    id: str
    table: str
    index: int  # row index in the table; the spreadsheet row is index + 2
    column: str
    value: str
    message: str  # the start of the expected message

    @property
    def prefix(self) -> str:
        return f"{self.table}.csv:{self.index + 2}:{self.column}: {self.message}"


BAD_CELLS = [
    Bad("not a number", "sites", 1, "lat", "north", "'north' is not a number"),
    Bad("not a finite number", "sites", 0, "supervisor_hours", "inf", "'inf' is not a finite number"),
    Bad("not a whole number", "slots", 0, "seats", "2.5", "'2.5' is not a whole number"),
    Bad("not a whole number, text", "participants", 2, "age", "fifty", "'fifty' is not a whole number"),
    Bad("lat out of range", "participants", 0, "lat", "91", "must be between -90 and 90, got 91"),
    Bad("hours out of range", "participants", 1, "hours_per_week", "41", "must be between 1 and 40, got 41"),
    Bad("hours zero", "participants", 1, "hours_per_week", "0", "must be between 1 and 40, got 0"),
    Bad("slot hours out of range", "slots", 2, "max_hours", "45", "must be between 0 and 40, got 45"),
    Bad("negative seats", "slots", 1, "seats", "-1", "must be at least 0, got -1"),
    Bad("negative supervisor hours", "sites", 0, "supervisor_hours", "-2", "must be at least 0, got -2"),
    Bad("negative ratio", "slots", 0, "supervision_ratio", "-0.5", "must be at least 0, got -0.5"),
    Bad("zero travel limit", "participants", 0, "max_travel_minutes", "0", "must be greater than 0, got 0"),
    Bad("negative travel minutes", "travel_times", 0, "minutes", "-5", "must be at least 0, got -5"),
    Bad("bad boolean", "slots", 0, "women_only", "kanske", "'kanske' is not a yes/no value"),
    Bad("bad pinned boolean", "participants", 2, "pinned", "maybe", "'maybe' is not a yes/no value"),
    Bad("bad date", "slots", 1, "available_from", "2026-13-01", "'2026-13-01' is not a date in the form YYYY-MM-DD"),
    Bad("bad date format", "participants", 0, "waiting_since", "1/3/2026", "'1/3/2026' is not a date in the form"),
    Bad("unknown weekday", "participants", 0, "days_available", "mon|funday", "unknown weekday 'funday'"),
    Bad("unknown slot weekday", "slots", 1, "days", "mån|wed", "unknown weekday 'mån'"),
    Bad("bad gender", "participants", 2, "gender", "q", "'q' is not one of f, m, x"),
    Bad("bad travel mode", "participants", 0, "travel_mode", "boat", "'boat' is not one of transit, car, bike, walk"),
    Bad("empty required id", "sites", 1, "site_id", "", "required value is empty"),
    Bad("empty required text", "participants", 1, "programme", "", "required value is empty"),
    Bad("empty required number", "slots", 2, "seats", "", "required value is empty"),
    Bad("empty enterprise name", "enterprises", 1, "name", "", "required value is empty"),
    Bad("unknown enterprise", "sites", 1, "enterprise_id", "nowhere", "unknown enterprise 'nowhere'"),
    Bad("unknown site", "slots", 2, "site_id", "nowhere", "unknown site 'nowhere'"),
    Bad("unknown current slot", "participants", 0, "current_slot_id", "nowhere", "unknown slot 'nowhere'"),
    Bad("travel time, unknown participant", "travel_times", 0, "participant_id", "P999", "unknown participant 'P999'"),
    Bad("travel time, unknown site", "travel_times", 0, "site_id", "nowhere", "unknown site 'nowhere'"),
]


@pytest.mark.parametrize("bad", BAD_CELLS, ids=[b.id for b in BAD_CELLS])
def test_each_kind_of_bad_cell_is_named_by_file_row_and_column(tmp_path: Path, bad: Bad) -> None:
    rows = dataset_rows()
    rows[bad.table][bad.index][bad.column] = bad.value
    result = run("check", write_rows(tmp_path, rows))
    assert result.exit_code == 2
    lines = problem_lines(result)
    assert len(lines) == 1, lines
    assert lines[0].startswith(bad.prefix), lines
    assert "1 problem(s)" in result.stderr


def test_min_hours_above_max_hours(tmp_path: Path) -> None:
    rows = dataset_rows()
    rows["slots"][0].update(min_hours="30", max_hours="10")
    result = run("check", write_rows(tmp_path, rows))
    assert result.exit_code == 2
    assert problem_lines(result) == ["slots.csv:2:max_hours: max_hours (10) is before min_hours (30)"]


def test_min_age_above_max_age(tmp_path: Path) -> None:
    rows = dataset_rows()
    rows["slots"][1].update(min_age="40", max_age="30")
    result = run("check", write_rows(tmp_path, rows))
    assert result.exit_code == 2
    assert [line.split(": ")[0] for line in problem_lines(result)] == ["slots.csv:3:max_age"]


def test_pinned_without_current_slot(tmp_path: Path) -> None:
    rows = dataset_rows()
    rows["participants"][2].update(pinned="ja", current_slot_id="")
    result = run("check", write_rows(tmp_path, rows))
    assert result.exit_code == 2
    assert problem_lines(result) == ["participants.csv:4:current_slot_id: a pinned participant needs current_slot_id"]


def test_a_missing_required_file(tmp_path: Path) -> None:
    rows = dataset_rows()
    del rows["slots"]
    result = run("check", write_rows(tmp_path, rows))
    assert result.exit_code == 2
    assert problem_lines(result) == ["slots.csv:0:: required file is missing"]


def test_a_missing_required_column(tmp_path: Path) -> None:
    rows = dataset_rows()
    columns = {"participants": [c for c in rows["participants"][0] if c != "max_travel_minutes"]}
    result = run("check", write_rows(tmp_path, rows, columns=columns))
    assert result.exit_code == 2
    [line] = problem_lines(result)
    assert line.startswith("participants.csv:1:max_travel_minutes: required column is missing (columns found: ")


def test_pinned_participants_alone_overfilling_a_slot_name_the_slot(tmp_path: Path) -> None:
    rows = dataset_rows()
    for person in rows["participants"]:
        person.update(current_slot_id="sewing", pinned="true")  # sewing has 1 seat
    result = run("check", write_rows(tmp_path, rows))
    assert result.exit_code == 2
    [line] = problem_lines(result)
    assert line.startswith("slots.csv:3:seats: slot 'sewing' has 1 seat(s) but 3 pinned participants")
    assert "P001" in line and "P003" in line


def test_pinned_participants_alone_overusing_supervision_name_the_site(tmp_path: Path) -> None:
    rows = dataset_rows()
    rows["sites"][0].update(supervisor_hours="6")  # furniture: 0.25 per hour
    rows["slots"][0].update(seats="5")
    rows["participants"][0].update(current_slot_id="furniture", pinned="yes", hours_per_week="15")  # 3.75 h
    rows["participants"][2].update(current_slot_id="furniture", pinned="yes", hours_per_week="10")  # 2.5 h
    result = run("check", write_rows(tmp_path, rows))
    assert result.exit_code == 2
    [line] = problem_lines(result)
    assert line.startswith("sites.csv:2:supervisor_hours: site 'hantverk' gives 6 supervisor hours")
    assert "6.25" in line

    rows["sites"][0].update(supervisor_hours="6.25")  # exactly enough
    assert run("check", write_rows(tmp_path / "ok", rows)).exit_code == 0


def test_all_problems_of_a_file_are_reported_at_once(tmp_path: Path) -> None:
    rows = dataset_rows()
    rows["participants"][0].update(hours_per_week="many", gender="kvinna")
    rows["participants"][1].update(days_available="monday", max_travel_minutes="-3")
    rows["participants"][2].update(waiting_since="igår", travel_mode="bus")
    rows["slots"][2].update(seats="three")  # and another file's problem too
    result = run("check", write_rows(tmp_path, rows))
    assert result.exit_code == 2
    prefixes = sorted(line.split(": ")[0] for line in problem_lines(result))
    assert prefixes == sorted([
        "participants.csv:2:hours_per_week", "participants.csv:2:gender",
        "participants.csv:3:days_available", "participants.csv:3:max_travel_minutes",
        "participants.csv:4:waiting_since", "participants.csv:4:travel_mode",
        "slots.csv:4:seats",
    ])  # fmt: skip
    assert "7 problem(s)" in result.stderr


def test_the_same_bad_text_on_several_rows_is_reported_on_each(tmp_path: Path) -> None:
    rows = dataset_rows()
    for person in rows["participants"]:
        person["travel_mode"] = "boat"
    result = run("check", write_rows(tmp_path, rows))
    assert [line.split(": ")[0] for line in problem_lines(result)] == [
        f"participants.csv:{r}:travel_mode" for r in (2, 3, 4)
    ]


def test_reference_problems_are_all_reported_at_once(tmp_path: Path) -> None:
    rows = dataset_rows()
    rows["sites"][0].update(enterprise_id="nowhere")
    rows["slots"][1].update(site_id="gone")
    rows["participants"][2].update(current_slot_id="missing")
    rows["travel_times"][0].update(participant_id="P404", site_id="lost")
    result = run("check", write_rows(tmp_path, rows))
    assert result.exit_code == 2
    assert sorted(line.split(": ")[0] for line in problem_lines(result)) == [
        "participants.csv:4:current_slot_id", "sites.csv:2:enterprise_id", "slots.csv:3:site_id",
        "travel_times.csv:2:participant_id", "travel_times.csv:2:site_id",
    ]  # fmt: skip


def test_long_problem_lines_are_not_wrapped(tmp_path: Path) -> None:
    rows = dataset_rows()
    # As long as an id may be (64 characters): the line is longer than any terminal's default width.
    long_id = ("a-very-long-slot-identifier-that-a-coordinator-typed-into-the-sheet-" * 2)[:64]
    rows["participants"][0].update(current_slot_id=long_id)
    result = run("check", write_rows(tmp_path, rows))
    assert problem_lines(result) == [f"participants.csv:2:current_slot_id: unknown slot '{long_id}'"]


def test_a_missing_data_set(tmp_path: Path) -> None:
    result = run("check", tmp_path / "nothing")
    assert result.exit_code == 2
    assert problem_lines(result)[0].endswith("nothing:0:: no such file or folder")


def test_a_valid_data_set_passes_with_a_summary(tmp_path: Path) -> None:
    result = run("check", write_rows(tmp_path, dataset_rows()))
    assert result.exit_code == 0, result.output
    assert "valid" in result.stdout
    assert "2 enterprises, 2 sites, 3 slots (6 seats), 3 participants, 1 travel times" in result.stdout
    assert result.stderr == ""


def test_warnings_do_not_fail_the_check(tmp_path: Path) -> None:
    rows = dataset_rows()
    for row in rows["enterprises"]:
        row["org_nr"] = "556000-0000"
    result = run("check", write_rows(tmp_path, rows))
    assert result.exit_code == 0
    assert "warning: enterprises.csv:1:org_nr: unknown column, ignored" in result.stderr


def test_check_prints_warnings_in_a_section_apart_from_the_errors(tmp_path: Path) -> None:
    rows = dataset_rows()
    rows["enterprises"][1]["municipality"] = "upplands vasby"  # a warning: read as Upplands Väsby
    rows["sites"][0]["municipality"] = "Sigtna"  # an error
    result = run("check", write_rows(tmp_path / "bad", rows))
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "sites.csv:2:municipality: 'Sigtna' is not a Swedish municipality; did you mean Sigtuna?",
        f"1 problem(s) in {tmp_path / 'bad'}; nothing was planned.",
        "1 warning(s) (besides the problems above; look at these rows too):",
        "warning: enterprises.csv:3:municipality: 'upplands vasby' read as 'Upplands Väsby'",
    ]

    rows["sites"][0]["municipality"] = "Sigtuna"
    result = run("check", write_rows(tmp_path / "good", rows))
    assert result.exit_code == 0  # warnings never refuse the data set
    assert "valid" in result.stdout
    assert result.stderr.splitlines() == [
        "1 warning(s) (the data set is read; look at these rows):",
        "warning: enterprises.csv:3:municipality: 'upplands vasby' read as 'Upplands Väsby'",
    ]


# --- solve, candidates, suggest -------------------------------------------------------------------------------


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return write_rows(tmp_path / "data", dataset_rows())


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def test_solve_writes_every_participant_exactly_once(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "plan.csv"
    result = run("solve", data, "--date", DATE, "--out", out, "--time-limit", "20", "--workers", "1")
    assert result.exit_code == 0, result.output
    header, rows = read_csv(out)
    assert header == [
        "participant_id", "slot_id", "site_id", "enterprise_id", "hours_per_week", "travel_minutes", "score",
    ]  # fmt: skip
    assert sorted(r["participant_id"] for r in rows) == ["P001", "P002", "P003"]
    instance = load_dataset(data)
    assignment = {r["participant_id"]: r["slot_id"] or None for r in rows}
    assert check_plan(instance, assignment, PLAN_DATE) == []
    assert assignment["P002"] == "shop"  # pinned
    # P001 (f, needs wheelchair, Mon/Wed, SAMRE) fits sewing and furniture; P003 (SAMRE, m) fits furniture and shop.
    assert assignment["P001"] is not None and assignment["P003"] is not None
    sites = {"furniture": ("hantverk", "vioni"), "sewing": ("vasby", "varme"), "shop": ("vasby", "varme")}
    for row in rows:
        if row["slot_id"]:
            assert (row["site_id"], row["enterprise_id"]) == sites[row["slot_id"]]
            assert row["hours_per_week"] == {"P001": "15", "P002": "20", "P003": "10"}[row["participant_id"]]
            assert int(row["travel_minutes"]) >= 0 and int(row["score"]) >= 0
    assert "placed 3 / 3" in result.stdout


def test_solve_with_a_work_limit_says_the_plan_is_deterministic(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "plan.csv"
    result = run("solve", data, "--date", DATE, "--out", out, "--work-limit", "0.5", "--no-table")
    assert result.exit_code == 0, result.output
    assert "deterministic (the same data and options give this plan again)" in result.stdout
    refused = run("solve", data, "--date", DATE, "--out", out, "--work-limit", "1", "--strategy", "greedy")
    assert refused.exit_code != 0 and "--work-limit" in refused.output


def test_solve_leaves_the_fields_of_an_unplaced_person_empty(tmp_path: Path) -> None:
    rows = dataset_rows()
    rows["participants"][2].update(hours_per_week="1")  # fits no slot's hours
    out = tmp_path / "plan.csv"
    result = run("solve", write_rows(tmp_path / "d", rows), "--date", DATE, "--out", out, "--no-table")
    assert result.exit_code == 0, result.output
    _, plan = read_csv(out)
    row = next(r for r in plan if r["participant_id"] == "P003")
    assert (row["slot_id"], row["site_id"], row["enterprise_id"], row["travel_minutes"], row["score"]) == ("",) * 5
    assert row["hours_per_week"] == "1"  # the spec leaves only the slot's fields empty


def test_candidates_writes_every_feasible_pair(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "candidates.csv"
    result = run("candidates", data, "--date", DATE, "--out", out)
    assert result.exit_code == 0, result.output
    header, rows = read_csv(out)
    assert header == ["participant_id", "slot_id", "travel_minutes", "score"]
    expected = candidates(load_dataset(data), PLAN_DATE)
    assert [(r["participant_id"], r["slot_id"], int(r["travel_minutes"]), int(r["score"])) for r in rows] == [
        (c.participant_id, c.slot_id, c.travel_minutes, c.score) for c in expected
    ]
    assert ("P001", "sewing") in {(r["participant_id"], r["slot_id"]) for r in rows}
    assert all(r["slot_id"] != "furniture" for r in rows if r["participant_id"] == "P002")  # avoids vioni


def test_suggest_json(data: Path) -> None:
    result = run("suggest", data, "P001", "--date", DATE, "--json", "-k", "2")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["participant_id"] == "P001"
    slots = [s["slot_id"] for s in payload["suggestions"]]
    assert 1 <= len(slots) <= 2 and set(slots) <= {"sewing", "furniture"}
    for suggestion in payload["suggestions"]:
        assert sum(suggestion["score_parts"].values()) == suggestion["score"]
        assert suggestion["free_seats"] >= 1
    scores = [s["score"] for s in payload["suggestions"]]
    assert scores == sorted(scores, reverse=True)
    assert isinstance(payload["excluded"], list)


def test_suggest_table(data: Path) -> None:
    result = run("suggest", data, "P003", "--date", DATE)
    assert result.exit_code == 0, result.output
    assert "Suggestions for P003" in result.stdout


@pytest.mark.parametrize("command", ["solve", "candidates", "suggest"])
@pytest.mark.parametrize("text", ["garbage", "2026-02-30", "23/11/2026", "20261123", "2026-W48-1", "[/oops]"])
def test_a_bad_date_option(data: Path, command: str, text: str) -> None:
    extra = ["P001"] if command == "suggest" else []
    result = run(command, data, *extra, "--date", text)
    assert result.exit_code == 2
    assert f"--date: '{text}' is not a date in the form YYYY-MM-DD" in result.stderr


@pytest.mark.parametrize("who", ["nobody", "p001", "[/x]"])
def test_suggest_for_an_unknown_participant(data: Path, who: str) -> None:
    result = run("suggest", data, who, "--date", DATE, "--json")
    assert result.exit_code == 2
    assert f"no participant '{who}'" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("command", ["solve", "candidates"])
def test_other_commands_refuse_an_invalid_data_set_the_same_way(tmp_path: Path, command: str) -> None:
    rows = dataset_rows()
    rows["slots"][0].update(seats="x")
    out = tmp_path / "out.csv"
    result = run(command, write_rows(tmp_path / "d", rows), "--date", DATE, "--out", out)
    assert result.exit_code == 2
    assert problem_lines(result)[0].startswith("slots.csv:2:seats: ")
    assert not out.exists()


def test_check_on_a_workbook_names_the_sheet(tmp_path: Path) -> None:
    from openpyxl import Workbook

    rows = dataset_rows()
    rows["slots"][1].update(days="mon|someday")
    workbook = Workbook()
    workbook.remove(workbook.active)
    for name, table in rows.items():
        sheet = workbook.create_sheet(name)
        sheet.append(list(table[0]))
        for row in table:
            sheet.append(list(row.values()))
    workbook.save(tmp_path / "data.xlsx")
    result = run("check", tmp_path / "data.xlsx")
    assert result.exit_code == 2
    assert problem_lines(result) == [
        "data.xlsx[slots]:3:days: unknown weekday 'someday' (use mon|tue|wed|thu|fri|sat|sun)"
    ]
