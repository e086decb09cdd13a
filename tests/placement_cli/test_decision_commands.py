"""`placement whatif` (and the other decision-support commands): a readable table, `--json` with ids and numbers
that match the core's answer, and a clear error for an unknown id."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from typer.testing import CliRunner

import matcher
from placement_cli import app

runner = CliRunner()
SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
ON = "2026-11-23"


def run(*args: str):  # type: ignore[no-untyped-def]
    result = runner.invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def test_whatif_json_is_the_cores_answer_and_the_change_works() -> None:
    result = run("whatif", SAMPLE, "P0001", "varmekallan_sewing_samre", "--date", ON, "--json")
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["slot_id"] == "varmekallan_sewing_samre" and answer["site_id"] == "varmekallan_vasby"
    rules = [c["rule"] for c in answer["changes"]]
    assert rules == ["travel_ok", "programme_ok"]
    travel = answer["changes"][0]
    assert travel["amount"] == 20 and travel["unit"] == "min"
    assert travel["change"] == "20 more minutes of travel allowed (60 > 40)"
    assert all(c["alone_suffices"] is False for c in answer["changes"])
    # The edits of the JSON, applied, let the person in.
    instance = matcher.load_dataset(SAMPLE)
    edits = [
        matcher.Edit(
            e["table"], e["key"], e["column"], frozenset(e["value"]) if isinstance(e["value"], list) else e["value"]
        )
        for c in answer["changes"]
        for e in c["edits"]
    ]
    edited = matcher.apply_edits(instance, edits)
    assert matcher.pair_failures(edited, "P0001", "varmekallan_sewing_samre", date(2026, 11, 23)) == []


def test_whatif_table_and_unknown_ids() -> None:
    result = run("whatif", SAMPLE, "P0001", "ggg_gardening", "--date", ON)
    assert result.exit_code == 0
    assert "smallest change" in result.stdout and "with this one change" in result.stdout
    assert run("whatif", SAMPLE, "NOBODY", "ggg_gardening", "--date", ON).exit_code == 2
    missing = run("whatif", SAMPLE, "P0001", "no_such_slot", "--date", ON)
    assert missing.exit_code == 2 and "no slot 'no_such_slot'" in missing.stderr


def _tiny(tmp_path: Path) -> Path:
    from tests.tiny_random import tiny_instance

    folder = tmp_path / "tiny"
    matcher.write_dataset(tiny_instance(1, people=6), folder)
    return folder


def test_fairness_json_and_table(tmp_path: Path) -> None:
    from matcher.fairness import fairness as report

    folder = _tiny(tmp_path)
    result = run("fairness", folder, "--date", ON, "--json", "--floor", "0.3")
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    expected = report(matcher.load_dataset(folder), date(2026, 11, 23), floor=0.3)
    assert answer["placed"] == expected.placed and answer["floor_total_placed"] == expected.floor_total_placed
    assert [(g["dimension"], g["group"], g["placed"], g["possible"]) for g in answer["groups"]] == [
        (g.dimension, g.group, g.placed, g.possible) for g in expected.groups
    ]
    assert isinstance(answer["groups"][0]["placed_share"], float)
    table = run("fairness", folder, "--date", ON)
    assert table.exit_code == 0 and "possible share" in table.stdout and "programme" in table.stdout
    assert run("fairness", folder, "--floor", "2").exit_code == 2


def test_capacity_value_json_and_table(tmp_path: Path) -> None:
    folder = _tiny(tmp_path)
    result = run("capacity-value", folder, "--date", ON, "--json")
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    expected = matcher.capacity_value(matcher.load_dataset(folder), date(2026, 11, 23))
    assert [(r["kind"], r["slot_id"], r["site_id"], r["more_placed"], r["method"]) for r in answer["rows"]] == [
        (r.kind, r.slot_id, r.site_id, r.more_placed, r.method) for r in expected.rows
    ]
    table = run("capacity-value", folder, "--date", ON)
    assert table.exit_code == 0 and "more placed" in table.stdout and "re-solve" in table.stdout


def test_solve_with_a_fairness_floor(tmp_path: Path) -> None:
    folder = _tiny(tmp_path)
    out = tmp_path / "plan.csv"
    args = ("solve", folder, "--date", ON, "--out", out, "--no-table")
    refused = run(*args, "--strategy", "greedy", "--fairness-floor", "0.3")
    assert refused.exit_code == 2 and "greedy" in refused.output  # a greedy fill cannot keep a floor
    result = run(*args, "--fairness-floor", "0.3")  # the default strategy (auto) honours it
    assert result.exit_code == 0, result.output
    assert "fairness floor 30% costs" in result.output
    from matcher.fairness import fairness as report

    expected = report(matcher.load_dataset(folder), date(2026, 11, 23), floor=0.3)
    rows = [line for line in out.read_text(encoding="utf-8").splitlines()[1:] if line.split(",")[1]]
    assert len(rows) == expected.floor_total_placed
