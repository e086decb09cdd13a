"""Schemathesis hooks for the fuzz run (`SCHEMATHESIS_HOOKS=attacks._st_hooks`, or imported by the pytest test).

1. Rules across fields that JSON Schema cannot state, each documented in the operation (and refused with 422 when
   broken): a lower bound not above its upper bound (`min_hours`/`max_hours`, `min_age`/`max_age`,
   `available_from`/`available_to`, `?from=`/`?to=`), and a scheduled change's `effective_from` after today.
   Positive cases that break one are not generated (negative cases are left alone: they should be refused).
2. Every call is logged (method, path, status, whether the answer shows participant data, and for an erasure the
   erased id and its pseudonym) to the JSON lines file named by `PLACEMENT_FUZZ_LOG`, for the audit check of
   attacks/fuzz.py.
"""

from __future__ import annotations

import json
import os
from datetime import date
from typing import Any

import schemathesis

PAIRS = (("min_hours", "max_hours"), ("min_age", "max_age"), ("available_from", "available_to"), ("from", "to"))


def _positive(case: Any) -> bool:
    meta = getattr(case, "meta", None)
    mode = getattr(getattr(meta, "generation", None), "mode", None)
    return mode is None or bool(getattr(mode, "is_positive", True))


def _crossed(values: Any) -> bool:
    if not isinstance(values, dict):
        return False
    for low, high in PAIRS:
        a, b = values.get(low), values.get(high)
        if a is None or b is None or type(a) is not type(b):
            continue
        try:
            if a > b:
                return True
        except TypeError:
            continue
    effective = values.get("effective_from")
    return isinstance(effective, str) and effective <= date.today().isoformat()


def keeps(case: Any) -> bool:
    """False for a positive case that breaks a rule across fields (see the module's docstring)."""
    if not _positive(case):
        return True
    return not (_crossed(case.body) or _crossed(case.query))


@schemathesis.hook
def filter_case(context: Any, case: Any) -> bool:
    return keeps(case)


def erasure(method: str, operation: str, status: int, body: bytes) -> str | None:
    """The pseudonym of a participant this call erased: the erasure rewrites the audit entries that named them,
    their paths included, so the audit check reads the earlier calls' paths under it."""
    if method != "POST" or operation != "/api/v1/participants/{participant_id}/erasure" or not 200 <= status < 300:
        return None
    try:
        pseudonym = json.loads(body)["pseudonym"]
    except (ValueError, KeyError, TypeError):
        return None
    return pseudonym if isinstance(pseudonym, str) else None


def shows_participants(method: str, path: str, status: int, body: bytes) -> bool:
    """Whether a 2xx answer shows or changes participant data: what the audit log must hold an entry for."""
    if not 200 <= status < 300:
        return False
    if method == "DELETE" and path.startswith("/api/v1/participants/"):
        return True
    if path.startswith("/api/v1/audit"):
        return False  # the audit log itself: reading it is not a read of participant data that needs an entry
    if path.startswith("/api/v1/exports"):
        return b"participant" in body.lower()
    try:
        data = json.loads(body) if body else None
    except ValueError:
        return False
    if path.startswith("/api/v1/participants") and "/suggestions" not in path and "/whatif" not in path:
        return isinstance(data, dict) and (bool(data.get("items")) or "id" in data)
    return _has_participant(data)


def _has_participant(data: Any) -> bool:
    if isinstance(data, dict):
        for key, value in data.items():
            if key == "participant_id" and isinstance(value, str) and value:
                return True
            if key.endswith("participant_ids") and value:
                return True
            if _has_participant(value):
                return True
    elif isinstance(data, list):
        return any(_has_participant(v) for v in data)
    return False


@schemathesis.hook
def after_call(context: Any, case: Any, response: Any) -> None:
    target = os.environ.get("PLACEMENT_FUZZ_LOG")
    if not target:
        return
    path = case.formatted_path
    method = case.method.upper()
    row = {
        "method": method,
        "path": path,
        "operation": case.operation.path,
        "status": response.status_code,
        "participants": shows_participants(method, path, response.status_code, response.content or b""),
    }
    erased = erasure(method, case.operation.path, response.status_code, response.content or b"")
    if erased is not None:
        row["erased"] = {"id": case.path_parameters["participant_id"], "pseudonym": erased}
    with open(target, "a", encoding="utf-8") as out:
        out.write(json.dumps(row) + "\n")
