"""Ids, codes and names as the reader reads them (docs/data-format.md, "Ids, codes and text"), rule by rule, through
`placement check`: each refusal names file, row and column and says why; the sample data still passes."""

from __future__ import annotations

from pathlib import Path

import pytest

import matcher
from tests.factories import dataset_rows, write_rows
from tests.placement_cli.test_check import problem_lines, run

ROOT = Path(__file__).resolve().parents[2]
PNR = "pseudonymous codes only: '{}' looks like a personal identity number"
NAME = "pseudonymous codes only: '{}' looks like a person's name"
ALPHABET = "is not a valid id or code: use 1-64 of A-Z a-z 0-9 _ . -, starting with a letter or digit"

# (value, the start of the message for an id, for a name of an enterprise or site (None: accepted))
CASES = [
    ("kafe_ā", f"'kafe_ā' {ALPHABET}", None),
    ("kafe\u0085x", "holds a control character", "holds a control character"),
    ("kafe\x7fx", "holds a control character", "holds a control character"),
    ("kafe\u200bx", "'kafe\\u200bx' holds U+200B (an invisible formatting character", "holds U+200B"),
    ("kafe\u202ex", "'kafe\\u202ex' holds U+202E (an invisible formatting character", "holds U+202E"),
    ("   ", "required value is empty", "required value is empty"),  # a cell is stripped first
    ("19850101-1234", PNR.format("19850101-1234"), PNR.format("19850101-1234")),
    ("850101-1234", PNR.format("850101-1234"), PNR.format("850101-1234")),
    ("198501011234", PNR.format("198501011234"), PNR.format("198501011234")),
    ("850101+1234", PNR.format("850101+1234"), PNR.format("850101+1234")),
    ("8501011234", PNR.format("8501011234"), PNR.format("8501011234")),
    ("850161-1234", PNR.format("850161-1234"), PNR.format("850161-1234")),  # a coordination number: day + 60
    ("Anna Andersson", NAME.format("Anna Andersson"), None),  # a name is refused for a participant only
]


def check(tmp_path: Path, table: str, index: int, column: str, value: str) -> list[str]:
    rows = dataset_rows()
    rows[table][index][column] = value
    return problem_lines(run("check", write_rows(tmp_path, rows)))


@pytest.mark.parametrize(("value", "as_id", "as_name"), CASES, ids=[repr(c[0]) for c in CASES])
def test_a_participant_id_that_is_not_a_pseudonymous_code_is_refused_by_cell(tmp_path, value, as_id, as_name):
    lines = check(tmp_path, "participants", 2, "participant_id", value)
    assert len(lines) == 1 and lines[0].startswith(f"participants.csv:4:participant_id: {as_id}"), lines


@pytest.mark.parametrize(("value", "as_id", "as_name"), CASES, ids=[repr(c[0]) for c in CASES])
def test_a_slot_id_follows_the_id_rules_and_a_name_is_only_a_participants_problem(tmp_path, value, as_id, as_name):
    lines = check(tmp_path, "slots", 2, "slot_id", value)
    if value == "Anna Andersson":  # not a name rule for slots, but still a space in an id
        assert lines == ["slots.csv:4:slot_id: 'Anna Andersson' holds a space; ids and codes are pseudonymous "
                         "codes only without spaces"]  # fmt: skip
    else:
        assert len(lines) == 1 and lines[0].startswith(f"slots.csv:4:slot_id: {as_id}"), lines


@pytest.mark.parametrize(("value", "as_id", "as_name"), CASES, ids=[repr(c[0]) for c in CASES])
def test_a_site_name_follows_the_text_rules(tmp_path, value, as_id, as_name):
    lines = check(tmp_path, "sites", 1, "name", value)
    if as_name is None:
        assert lines == []
    else:
        assert len(lines) == 1 and lines[0].startswith(f"sites.csv:3:name: {as_name}"), lines


@pytest.mark.parametrize(
    ("table", "index", "column", "value", "row"),
    [
        ("participants", 0, "preferences", "sewing|Anna Andersson", 2),
        ("participants", 0, "needs", "19850101-1234", 2),
        ("participants", 1, "programme", "Anna_Andersson", 3),
        ("travel_times", 0, "participant_id", "850101-1234", 2),
        ("slots", 0, "activity", "kafé", 2),
        ("slots", 1, "supports", "swedish support", 3),
        ("sites", 0, "accessibility", "wheel\u200bchair", 2),
        ("participants", 1, "avoid_enterprises", "vioni|Värme", 3),
    ],
)
def test_codes_and_lists_of_codes_follow_the_id_rules(tmp_path, table, index, column, value, row):
    lines = [line for line in check(tmp_path, table, index, column, value) if "unknown" not in line]
    assert [line.split(": ")[0] for line in lines] == [f"{table}.csv:{row}:{column}"], lines


def test_names_of_people_are_allowed_for_enterprises_and_sites(tmp_path):
    # `Värmekällan syateljé`, `Anna Andersson Second hand`: organisations and places are often named after people.
    rows = dataset_rows()
    rows["enterprises"][0]["name"] = "Anna Andersson"
    rows["sites"][1]["name"] = "Värmekällan syateljé"
    assert problem_lines(run("check", write_rows(tmp_path, rows))) == []


def test_a_name_is_stored_as_nfc_without_surrounding_spaces():
    assert matcher.clean_text("  Cafe\u0301 Kvarnen \t") == "Café Kvarnen"
    assert matcher.clean_text("Rad ett\r\nrad två") == "Rad ett\nrad två"


def test_the_sample_data_passes():
    matcher.read_dataset(ROOT / "data" / "sample")


@pytest.mark.parametrize("scenario", sorted(matcher.SCENARIOS))
def test_what_the_generator_writes_reads_back(tmp_path, scenario):
    for instance in (matcher.synthetic_instance(300, seed=3, scenario=scenario), matcher.sample_region()):
        matcher.write_dataset(instance, tmp_path)
        assert matcher.read_dataset(tmp_path)[0].participants == instance.participants


def test_an_id_is_never_more_than_64_characters(tmp_path):
    lines = check(tmp_path, "slots", 2, "slot_id", "s" * 65)
    assert lines == ["slots.csv:4:slot_id: an id or code has at most 64 characters, got 65"]
