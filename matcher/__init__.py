"""The placement engine's core: read a data set, find feasible pairs, plan, suggest, explain, and check plans.

Pure and typed: no HTTP, no database, no printing, no command line. This module's `__all__` is the core's public
surface (docs/core-api.md); the command line (`placement_cli`) and the service use nothing below it, and the
benchmarks use it and `matcher.peers`. tests/matcher/test_surface.py holds them to that.
"""

from matcher.capacity_value import CapacityValueReport, CapacityValueRow, IdleSeat, capacity_value
from matcher.compiled import CompiledInstance, compile_instance
from matcher.domain import WEEKDAYS, Enterprise, Instance, Participant, Site, Slot, TravelTime
from matcher.fairness import FairnessGroup, FairnessReport, fairness
from matcher.feasibility import CandidatePairs, feasible_pairs
from matcher.generate import DEFAULT_PLAN_DATE, SCENARIOS, sample_region, synthetic_instance
from matcher.integrity import SUPERVISION_TOLERANCE
from matcher.io import load_dataset, read_dataset, write_candidates, write_dataset, write_plan
from matcher.io.dialects import COMMA, DIALECTS, SEMICOLON, CsvDialect, csv_bytes, dataset_files
from matcher.io.limits import ReadLimits
from matcher.io.locator import Location, Locator, check_integrity
from matcher.io.municipalities import municipality_names, official_name
from matcher.io.reader import Dataset, parse_date, read
from matcher.io.tables import TABLE_NAMES
from matcher.io.text import (
    ID_PATTERN,
    ID_SAFE_CHARACTERS,
    MAX_ID_LENGTH,
    MAX_TEXT_LENGTH,
    PERSONAL_NAME_ID_PATTERN,
    PERSONAL_NUMBER_PATTERN,
    UNSAFE_TEXT_CLASS,
    check_id,
    clean_text,
    unsafe_character,
)
from matcher.io.update import Update, read_update
from matcher.model.fanout import AREA_SHARED_TYPES, AreaFanOut
from matcher.model.outcome import SolveProgress
from matcher.plan import CandidateRow, ExcludedSlot, Plan, PlanRow, RuleFailure, SolveStatus, Suggestion, Suggestions
from matcher.plan_changes import Change, ChangeKind, Need, NeedKind, dependencies, dependents, needs_graph, plan_changes
from matcher.problems import InvalidDataset, Problem
from matcher.reasons import UnknownSlot, pair_failures, room_failures
from matcher.rules import EXPLANATION_LABELS, RULES, SEATS, SUPERVISION
from matcher.settings import FLOOR_STRATEGIES, ScoreWeights, SolverSettings
from matcher.solve import candidates, keep_current, prepare, solve
from matcher.suggest import Occupancy, UnknownParticipant, suggest
from matcher.validation import check_plan
from matcher.whatif import Edit, WhatIf, WhatIfChange, apply_edits, what_if

__all__ = [
    "AREA_SHARED_TYPES",
    "AreaFanOut",
    "COMMA",
    "DEFAULT_PLAN_DATE",
    "DIALECTS",
    "EXPLANATION_LABELS",
    "ID_PATTERN",
    "ID_SAFE_CHARACTERS",
    "MAX_ID_LENGTH",
    "MAX_TEXT_LENGTH",
    "PERSONAL_NAME_ID_PATTERN",
    "PERSONAL_NUMBER_PATTERN",
    "RULES",
    "SEATS",
    "SUPERVISION",
    "SCENARIOS",
    "SEMICOLON",
    "SUPERVISION_TOLERANCE",
    "TABLE_NAMES",
    "WEEKDAYS",
    "CandidatePairs",
    "CapacityValueReport",
    "CapacityValueRow",
    "CandidateRow",
    "Change",
    "ChangeKind",
    "CompiledInstance",
    "CsvDialect",
    "Dataset",
    "Edit",
    "Enterprise",
    "ExcludedSlot",
    "FairnessGroup",
    "FairnessReport",
    "IdleSeat",
    "Instance",
    "InvalidDataset",
    "Location",
    "Locator",
    "Need",
    "NeedKind",
    "Occupancy",
    "Participant",
    "Plan",
    "PlanRow",
    "Problem",
    "ReadLimits",
    "RuleFailure",
    "ScoreWeights",
    "Site",
    "Slot",
    "SolveProgress",
    "SolveStatus",
    "SolverSettings",
    "FLOOR_STRATEGIES",
    "Suggestion",
    "Suggestions",
    "TravelTime",
    "UnknownParticipant",
    "UnknownSlot",
    "Update",
    "WhatIf",
    "WhatIfChange",
    "apply_edits",
    "candidates",
    "capacity_value",
    "check_id",
    "check_integrity",
    "check_plan",
    "clean_text",
    "compile_instance",
    "csv_bytes",
    "dataset_files",
    "dependencies",
    "dependents",
    "fairness",
    "feasible_pairs",
    "keep_current",
    "load_dataset",
    "municipality_names",
    "needs_graph",
    "official_name",
    "pair_failures",
    "parse_date",
    "plan_changes",
    "prepare",
    "read",
    "read_dataset",
    "read_update",
    "room_failures",
    "sample_region",
    "solve",
    "suggest",
    "synthetic_instance",
    "unsafe_character",
    "UNSAFE_TEXT_CLASS",
    "what_if",
    "write_candidates",
    "write_dataset",
    "write_plan",
]
