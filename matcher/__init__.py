"""The placement engine's core: read a data set, find feasible pairs, plan, suggest, and check plans.

Pure and typed: no HTTP, no database, no printing. The command line and the service call these functions.
"""

from matcher.compiled import CompiledInstance, compile_instance
from matcher.domain import Enterprise, Instance, Participant, Site, Slot, TravelTime
from matcher.feasibility import CandidatePairs, feasible_pairs
from matcher.integrity import check_integrity
from matcher.io import load_dataset, read_dataset, write_candidates, write_dataset, write_plan
from matcher.model.outcome import SolveProgress
from matcher.plan import CandidateRow, ExcludedSlot, Plan, PlanRow, RuleFailure, SolveStatus, Suggestion, Suggestions
from matcher.problems import InvalidDataset, Problem
from matcher.rules import RULES
from matcher.settings import ScoreWeights, SolverSettings
from matcher.solve import candidates, keep_current, prepare, solve
from matcher.suggest import Occupancy, UnknownParticipant, suggest
from matcher.validation import check_plan

__all__ = [
    "RULES",
    "CandidatePairs",
    "CandidateRow",
    "CompiledInstance",
    "Enterprise",
    "ExcludedSlot",
    "Instance",
    "InvalidDataset",
    "Occupancy",
    "Participant",
    "Plan",
    "PlanRow",
    "Problem",
    "RuleFailure",
    "ScoreWeights",
    "Site",
    "Slot",
    "SolveProgress",
    "SolveStatus",
    "SolverSettings",
    "Suggestion",
    "Suggestions",
    "TravelTime",
    "UnknownParticipant",
    "candidates",
    "check_integrity",
    "check_plan",
    "compile_instance",
    "feasible_pairs",
    "keep_current",
    "load_dataset",
    "prepare",
    "read_dataset",
    "solve",
    "suggest",
    "write_candidates",
    "write_dataset",
    "write_plan",
]
