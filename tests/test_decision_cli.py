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
SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"
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
