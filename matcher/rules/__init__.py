"""The rules of a feasible plan, one unit each (docs/data-format.md; docs/architecture.md says where a new one goes).

- `PAIR_RULES`: rules 1–9, each pair on its own (`matcher.rules.pair`);
- `CAPACITY_RULES`: one place per participant, seats per slot, supervision per site (`matcher.rules.capacity`);
- `PINNING`: a pinned participant keeps their slot (`matcher.rules.pinning`).

Every label used in explanations, the plan checker, the service's reasons, the API schema and the table in
docs/data-format.md comes from these units.
"""

from __future__ import annotations

from matcher.plan import RuleFailure
from matcher.rules.base import CapacityRule, ModelRows, PairArrays, PairContext, PairRule, Rule
from matcher.rules.capacity import (
    CAPACITY_RULES,
    ONE_PLACE,
    SEATS,
    SUPERVISION,
    SUPERVISION_TOLERANCE,
    OnePlace,
    Seats,
    Supervision,
)
from matcher.rules.pair import PAIR_RULES
from matcher.rules.pinning import PINNING, Pinning

ALL_RULES: tuple[Rule, ...] = (*PAIR_RULES, *CAPACITY_RULES, PINNING)
RULES: tuple[str, ...] = tuple(rule.label for rule in PAIR_RULES)  # rules 1–9, in the spec's order
# What a slot that is feasible for a person can still lack (suggestions, the service refusing a seat).
ROOM_LABELS: tuple[str, ...] = (SEATS.label, SUPERVISION.label)
EXPLANATION_LABELS: tuple[str, ...] = (*RULES, *ROOM_LABELS)  # every label a RuleFailure carries


def rule_failures(context: PairContext) -> list[RuleFailure]:
    """Every rule 1–9 the pair breaks, in the spec's order; empty when the pair is feasible."""
    failures = []
    for rule in PAIR_RULES:
        message = rule.check(context)
        if message is not None:
            failures.append(RuleFailure(rule.label, message))
    return failures


def rules_table() -> str:
    """The table of rule labels in docs/data-format.md (a test checks that the page holds exactly this)."""
    lines = ["| label | rule |", "|---|---|"]
    lines += [f"| `{rule.label}` | {rule.words} |" for rule in ALL_RULES]
    return "\n".join(lines)


__all__ = [
    "ALL_RULES",
    "CAPACITY_RULES",
    "EXPLANATION_LABELS",
    "ONE_PLACE",
    "PAIR_RULES",
    "PINNING",
    "ROOM_LABELS",
    "RULES",
    "SEATS",
    "SUPERVISION",
    "SUPERVISION_TOLERANCE",
    "CapacityRule",
    "ModelRows",
    "OnePlace",
    "PairArrays",
    "PairContext",
    "PairRule",
    "Pinning",
    "Rule",
    "Seats",
    "Supervision",
    "rule_failures",
    "rules_table",
]
