"""What every rule unit carries: a label, its words, a scalar check and an array check (and, for a capacity rule,
the model rows it adds). The tests fail when a unit lacks any part (tests/matcher/rules/test_rule_units.py)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from typing import TYPE_CHECKING, ClassVar

from matcher.compiled import BoolArray, CompiledInstance, FloatArray, IntArray
from matcher.domain import Enterprise, Participant, Site, Slot

if TYPE_CHECKING:
    from matcher.model.problem import AssignmentProblem


@dataclass(frozen=True, slots=True)
class PairContext:
    """One pair in plain objects, for the scalar checks (the plan checker and the explanations)."""

    participant: Participant
    slot: Slot
    site: Site
    enterprise: Enterprise
    minutes: int
    on: date


@dataclass(frozen=True)
class PairArrays:
    """Pairs of a compiled instance as parallel arrays (participant `p`, slot `s`, travel `minutes`), for the array
    checks that find the feasible pairs."""

    ci: CompiledInstance
    p: IntArray
    s: IntArray
    minutes: IntArray
    on: date

    @cached_property
    def site(self) -> IntArray:
        out: IntArray = self.ci.s_site[self.s]
        return out


class Rule(ABC):
    """A rule of a feasible plan (docs/data-format.md): `label` names it in explanations, the API and the docs;
    `words` says it for a reader."""

    label: ClassVar[str]
    words: ClassVar[str]


class PairRule(Rule):
    """A rule one participant–slot pair keeps or breaks on its own (rules 1–9 of the data format)."""

    @abstractmethod
    def check(self, pair: PairContext) -> str | None:
        """None when the pair keeps the rule; otherwise why not, in words a coach can read."""

    @abstractmethod
    def holds(self, pairs: PairArrays) -> BoolArray:
        """The same verdict for many pairs at once (True = the rule holds)."""


@dataclass(frozen=True)
class ModelRows:
    """`Σ coefficient x <= upper` per key (participant, slot or site) of the pairs that could break the rule.

    `key` is the key of each free pair; `binding` (over all keys) says which keys need a row; `coefficient` is per
    pair (None: every coefficient is 1); `upper` is per key."""

    key: IntArray
    binding: BoolArray
    coefficient: IntArray | None
    upper: IntArray


class CapacityRule(Rule):
    """A limit that pairs share: `used + need <= limit` per participant, slot or site."""

    at_most_one: ClassVar[bool] = False  # rows of 0/1 terms with limit 1 (CP-SAT writes them as at-most-one)

    @abstractmethod
    def fits(self, used: float, need: float, limit: float | None) -> bool:
        """Scalar: does `need` more fit beside `used` (None: no limit)?"""

    @abstractmethod
    def fits_many(self, used: FloatArray, need: FloatArray, limit: FloatArray) -> BoolArray:
        """The same for arrays (an infinite limit: none)."""

    @abstractmethod
    def refusal(self, used: float, need: float, limit: float) -> str:
        """Why a person cannot take a place, in words a coach can read (when `fits` is False)."""

    @abstractmethod
    def overrun(self, key: str, used: float, limit: float) -> str:
        """The plan checker's message for a limit a plan breaks."""

    @abstractmethod
    def rows(self, problem: AssignmentProblem) -> ModelRows:
        """The rows this rule adds to the model of `problem`."""
