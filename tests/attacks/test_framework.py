"""The attacks framework (attacks/__main__.py): every module with `run` is found, sections are assembled in their
fixed order into docs/reliability.md, and the fuzz attack reads schemathesis' summary and the audit log right."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from attacks import __main__ as attacks_main
from attacks import load
from attacks._st_hooks import erasure, keeps, shows_participants
from attacks.fuzz import summary, under_pseudonyms


def test_every_attack_module_is_found_and_helpers_are_not():
    found = attacks_main.discover()
    assert {"fuzz", "matrix", "races", "load"} <= set(found)
    assert not any(name.startswith("_") for name in found)
    assert all(callable(run) for run in found.values())


def test_sections_come_in_the_fixed_order_then_by_name():
    assert attacks_main.ordered(["zeta", "load", "pool", "fuzz", "alpha", "races"]) == [
        "fuzz", "races", "pool", "load", "alpha", "zeta",
    ]  # fmt: skip


def test_assemble_writes_the_intro_the_facts_and_every_section(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    results = tmp_path / "results"
    results.mkdir()
    (results / "load.md").write_text("## Load\n\nlast\n")
    (results / "fuzz.md").write_text("## Fuzz\n\nfirst\n")
    (tmp_path / "INTRO.md").write_text("# Reliability\n\nintro\n")
    monkeypatch.setattr(attacks_main, "RESULTS", results)
    monkeypatch.setattr(attacks_main, "DOC", tmp_path / "reliability.md")
    monkeypatch.setattr(attacks_main, "INTRO", tmp_path / "INTRO.md")
    text = attacks_main.assemble().read_text()
    assert text.index("# Reliability") < text.index("## Fuzz") < text.index("## Load")
    assert "commit" in text and "CPUs" in text


def test_a_failing_attack_leaves_a_section_saying_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    def broken(results: Path) -> None:
        raise RuntimeError("no server")

    monkeypatch.setattr(attacks_main, "RESULTS", tmp_path)
    monkeypatch.setattr(attacks_main, "DOC", tmp_path / "reliability.md")
    monkeypatch.setattr(attacks_main, "discover", lambda: {"broken": broken})
    assert attacks_main.main(["broken"]) == 1
    assert "failed to run" in (tmp_path / "broken.md").read_text()
    assert "no server" in (tmp_path / "reliability.md").read_text()


SUMMARY = """
=================================== SUMMARY ====================================

API Operations:
  Selected: 46/46
  Tested: 46

Failures:
  ❌ ST201 Schema-violating request accepted: 2

Test cases:
  4365 generated, 2 found 2 unique failures, 76 skipped
"""


def test_the_schemathesis_summary_is_read():
    figures = summary(SUMMARY)
    assert (figures["operations"], figures["selected"], figures["cases"], figures["failures"]) == (46, 46, 4365, 2)
    assert figures["by_check"] == {"ST201 Schema-violating request accepted": 2}
    clean = summary(SUMMARY.replace("2 found 2 unique failures", "4365 passed").replace("❌ ST201", "x"))
    assert (clean["failures"], clean["by_check"]) == (0, {})


def _case(body: object, positive: bool = True) -> SimpleNamespace:
    mode = SimpleNamespace(is_positive=positive)
    return SimpleNamespace(body=body, query=None, meta=SimpleNamespace(generation=SimpleNamespace(mode=mode)))


def test_the_generator_keeps_rules_across_fields_for_positive_cases_only():
    assert keeps(_case({"min_hours": 5, "max_hours": 10}))
    assert not keeps(_case({"min_hours": 11, "max_hours": 10}))
    assert not keeps(_case({"effective_from": "2000-01-01"}))
    assert keeps(_case({"min_hours": 11, "max_hours": 10}, positive=False))


def test_participant_data_in_an_answer_is_recognised():
    assert shows_participants("GET", "/api/v1/participants/P1", 200, b'{"id": "P1"}')
    assert shows_participants("GET", "/api/v1/placements", 200, b'{"items": [{"participant_id": "P1"}]}')
    assert not shows_participants("GET", "/api/v1/participants", 200, b'{"items": [], "total": 0}')
    assert not shows_participants("GET", "/api/v1/participants/P1", 404, b'{"detail": "P1"}')
    assert not shows_participants("GET", "/api/v1/slots", 200, b'{"items": [{"id": "sew"}]}')


def test_the_audit_check_reads_the_paths_before_an_erasure_under_its_pseudonym():
    """The erasure rewrites the audit entries that named the id, paths included (the fuzz found 379 PATCHes
    'without an audit row' that were only renamed)."""
    operation = "/api/v1/participants/{participant_id}/erasure"
    assert erasure("POST", operation, 200, b'{"pseudonym": "X-9"}') == "X-9"
    assert erasure("POST", operation, 404, b"{}") is None and erasure("GET", operation, 200, b"{}") is None
    calls = [
        {"method": "PATCH", "path": "/api/v1/participants/P1", "participants": True},
        {"method": "GET", "path": "/api/v1/participants/P10", "participants": True},
        {"method": "POST", "path": "/api/v1/participants/P1/erasure", "erased": {"id": "P1", "pseudonym": "X-9"}},
        {"method": "GET", "path": "/api/v1/participants/P1", "participants": False},
    ]
    paths = [c["path"] for c in under_pseudonyms(calls)]
    assert paths == [
        "/api/v1/participants/X-9",
        "/api/v1/participants/P10",
        "/api/v1/participants/X-9/erasure",
        "/api/v1/participants/P1",
    ]


def _locust_row(name: str, failures: int, p95: float) -> dict[str, str]:
    return {"Name": name, "Failure Count": str(failures), "95%": str(p95)}


def test_the_load_verdict_needs_no_error_anywhere_and_suggestions_p95_under_50_ms():
    suggestions = "/participants/{id}/suggestions"
    met = [_locust_row(suggestions, 0, 26), _locust_row("/placements", 0, 38), _locust_row("Aggregated", 0, 30)]
    assert load.verdict(met).startswith("**Target: met**")
    slow = [_locust_row(suggestions, 0, 89), _locust_row("Aggregated", 0, 89)]
    assert "not met" in load.verdict(slow) and "p95 89 ms" in load.verdict(slow)
    failing = [_locust_row(suggestions, 0, 20), _locust_row("/placements", 3, 20), _locust_row("Aggregated", 3, 20)]
    assert "not met" in load.verdict(failing) and "3 errors" in load.verdict(failing)
    assert "not met" in load.verdict([_locust_row("/participants", 0, 10)])


def test_the_measured_commit_ignores_the_runs_own_outputs(monkeypatch: pytest.MonkeyPatch):
    asked: list[list[str]] = []

    def run(command: list[str], **_: object) -> SimpleNamespace:
        asked.append(command)
        return SimpleNamespace(stdout="abc1234\n" if "rev-parse" in command else "")

    monkeypatch.setattr(attacks_main.subprocess, "run", run)
    assert attacks_main.commit() == "abc1234"
    status = next(c for c in asked if "status" in c)
    assert ":(exclude)attacks/results" in status and ":(exclude)docs/reliability.md" in status
