"""Warnings about programme and activity codes that look like typos.

A code is matched exactly (`SAMRE` is not `Samre`), so a typo silently changes who may use a slot or what a person
prefers. Nothing here refuses a data set; it points at the rows a person should look at: a code that differs from
a more used one only by case or by one letter, and, in a large data set, a code that appears on one row only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from matcher.problems import Problem

if TYPE_CHECKING:
    from matcher.io.reader import ParsedTable

# Below this many rows (slots and participants together), a code seen once is normal, not suspicious.
LARGE_DATA_SET_ROWS = 100
# One letter off is a typo only in a code long enough to be a word: `MIA` and `MIB` may both be real.
MIN_LENGTH_FOR_ONE_LETTER = 4

# (what a message calls the code, [(table, column)] where it appears)
CODE_KINDS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("programme", (("participants", "programme"), ("slots", "programmes"))),
    ("activity", (("slots", "activity"), ("participants", "preferences"))),
)


@dataclass
class _Uses:
    first: tuple[str, int, str]  # file, row, column of the first row that has the code
    rows: set[tuple[str, int]] = field(default_factory=set)


def code_warnings(parsed: Mapping[str, ParsedTable]) -> list[Problem]:
    """Warnings, each on the first row that has a suspicious code."""
    total_rows = sum(len(parsed[t].rows) for t in ("slots", "participants") if t in parsed)
    warnings: list[Problem] = []
    for kind, places in CODE_KINDS:
        uses: dict[str, _Uses] = {}
        for table_name, column in places:
            table = parsed.get(table_name)
            if table is None or column not in table.present:
                continue
            for row, value in zip(table.rows, table.values[column], strict=True):
                for code in _codes(value):
                    entry = uses.setdefault(code, _Uses((table.table.source, row, column)))
                    entry.rows.add((table.table.source, row))
        warnings += _suspicious(kind, uses, total_rows)
    return warnings


def _codes(value: Any) -> Iterable[str]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,) if value else ()
    return sorted(set(value))


def _suspicious(kind: str, uses: dict[str, _Uses], total_rows: int) -> list[Problem]:
    warnings: list[Problem] = []
    counts = {code: len(entry.rows) for code, entry in uses.items()}
    for code in sorted(uses):
        file, row, column = uses[code].first
        likely = [
            other for other in sorted(uses)
            if other != code and counts[other] >= counts[code] and _one_slip(code, other)
        ]  # fmt: skip
        if likely:
            other = likely[0]
            how = "only by case" if code.lower() == other.lower() else "by one letter"
            message = (
                f"{kind} '{code}' ({_rows(counts[code])}) differs from '{other}' ({_rows(counts[other])}) {how}; "
                "a typo?"
            )
            warnings.append(Problem(file, row, column, message))
        elif counts[code] == 1 and total_rows >= LARGE_DATA_SET_ROWS:
            warnings.append(Problem(file, row, column, f"{kind} '{code}' appears on this row only; a typo?"))
    return warnings


def _rows(n: int) -> str:
    return f"{n} row" if n == 1 else f"{n} rows"


def _one_slip(a: str, b: str) -> bool:
    """Equal but for case, or (for words) one letter replaced, added, dropped or two neighbours swapped."""
    if a.lower() == b.lower():
        return True
    if min(len(a), len(b)) < MIN_LENGTH_FOR_ONE_LETTER or abs(len(a) - len(b)) > 1:
        return False
    a, b = a.lower(), b.lower()
    if len(a) == len(b):
        diffs = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diffs) == 1:
            return True
        i = diffs[0]
        return len(diffs) == 2 and diffs[1] == i + 1 and a[i] == b[i + 1] and a[i + 1] == b[i]
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))
