"""Every rule is one unit (matcher/rules/): each has every part, and everything that names rules reads the units."""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import get_args

import numpy as np
import pytest

import matcher
from matcher.domain import WEEKDAYS
from matcher.rules import (
    ALL_RULES,
    CAPACITY_RULES,
    EXPLANATION_LABELS,
    PAIR_RULES,
    PINNING,
    RULES,
    SEATS,
    SUPERVISION,
    CapacityRule,
    PairRule,
    Rule,
    rules_table,
)
from matcher.rules.pinning import Pinning

DOCS = Path(__file__).resolve().parents[3] / "docs"
PARTS: dict[type[Rule], tuple[str, ...]] = {
    PairRule: ("check", "holds"),
    CapacityRule: ("fits", "fits_many", "refusal", "overrun", "rows"),
    Pinning: ("check", "holds"),
}


def _all_subclasses(cls: type) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub} | _all_subclasses(sub)
    return found


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda r: r.label)
def test_every_rule_unit_has_every_part(rule: Rule) -> None:
    cls = type(rule)
    assert not inspect.isabstract(cls)
    assert re.fullmatch(r"[a-z]+(_[a-z]+)*", cls.__dict__.get("label", "")), "a label of its own, in snake_case"
    assert len(cls.__dict__.get("words", "")) > 10, "words of its own for explanations and the docs"
    kind = next(k for k in PARTS if isinstance(rule, k))
    for part in PARTS[kind]:
        assert part in cls.__dict__, f"{rule.label} lacks its own {part}"


def test_every_rule_class_is_registered_once_with_a_unique_label() -> None:
    defined = {c for c in _all_subclasses(Rule) if not inspect.isabstract(c) and c.__module__.startswith("matcher.")}
    assert defined == {type(r) for r in ALL_RULES}
    labels = [r.label for r in ALL_RULES]
    assert len(labels) == len(set(labels))
    assert len(PAIR_RULES) == 9 and matcher.RULES == RULES == tuple(r.label for r in PAIR_RULES)
    assert (*RULES, SEATS.label, SUPERVISION.label) == EXPLANATION_LABELS


def test_docs_rule_table_lists_exactly_the_units() -> None:
    text = (DOCS / "data-format.md").read_text(encoding="utf-8")
    assert rules_table() in text, "docs/data-format.md: paste matcher.rules.rules_table() under 'Rule labels'"
    section = text.split("## Rule labels", 1)[1].split("\n## ", 1)[0]
    labels = re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.MULTILINE)
    assert labels == [r.label for r in ALL_RULES]


def test_openapi_enum_of_rule_labels_comes_from_the_units() -> None:
    from service.suggestions.router import RuleFailureOut

    schema = RuleFailureOut.model_json_schema()
    assert schema["properties"]["rule"]["enum"] == list(EXPLANATION_LABELS)


def test_the_service_weekdays_are_the_cores() -> None:
    from service.catalogue.schemas import Weekday
    from service.imports.loader import WEEKDAY_ORDER

    assert get_args(Weekday) == WEEKDAYS == WEEKDAY_ORDER


@pytest.mark.parametrize("rule", CAPACITY_RULES, ids=lambda r: r.label)
def test_capacity_rule_scalar_and_array_checks_agree(rule: CapacityRule) -> None:
    used = np.array([0.0, 1.0, 2.0, 2.0, 9.5, 9.999999, 3.0])
    need = np.array([1.0, 1.0, 0.0, 1.0, 0.5, 0.0000005, 0.0])
    limit = np.array([1.0, 1.0, 2.0, 2.0, 10.0, 10.0, np.inf])
    array = rule.fits_many(used, need, limit)
    scalar = [rule.fits(u, n, None if np.isinf(lim) else lim) for u, n, lim in zip(used, need, limit, strict=True)]
    assert array.tolist() == scalar
    assert scalar[:4] == [True, False, True, False]


def test_supervision_words_and_arithmetic() -> None:
    assert SUPERVISION.need(10, 0.25) == 2.5
    assert SUPERVISION.fits(9.0, 1.0000005, 10.0)  # the data format's tolerance of 1e-6
    assert not SUPERVISION.fits(9.0, 1.00001, 10.0)
    assert SUPERVISION.refusal(9.0, 2.5, 10.0) == "supervision full (1 h left, 2.5 h needed)"
    assert SEATS.refusal(2, 1, 2) == "no seats left"


def test_pinning_check_names_the_slot_kept() -> None:
    person = matcher.Participant(
        "p1", "SAMRE", "Solna", 59.3, 18.0, 20, frozenset({"mon"}), 60, current_slot_id="s1", pinned=True
    )
    assert PINNING.check(person, "s1") is None
    assert PINNING.check(person, None) == "pinned participant p1 is not kept in s1"
