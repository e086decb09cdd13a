"""Sweden's 290 municipalities (SCB's list, kept in `municipalities.csv`) and how a typed name is matched to one.

A name that is one of them is read as written. One that differs only by case, spaces, hyphens or missing
diacritics (`upplands vasby`) is read as the official name, with a warning. Anything else is an error that names
the closest official names, because a wrong municipality changes who is counted where.
"""

from __future__ import annotations

import csv
import difflib
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True, slots=True)
class Municipality:
    code: str  # SCB's four-digit kommunkod, e.g. 0191
    name: str  # the official name, e.g. Sigtuna
    county_code: str  # the first two digits of the code


@cache
def municipalities() -> tuple[Municipality, ...]:
    """The official list, in code order."""
    text = resources.files("matcher.io").joinpath("municipalities.csv").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    return tuple(Municipality(r["code"], r["name"], r["county_code"]) for r in csv.DictReader(lines))


def _loose(text: str) -> str:
    """Case, runs of spaces and hyphens ignored: `upplands  bro` and `Upplands-Bro` are the same."""
    return " ".join(text.casefold().replace("-", " ").split())


def _folded(text: str) -> str:
    """`_loose` with diacritics dropped too: `Upplands Vasby` meets `Upplands Väsby`."""
    decomposed = unicodedata.normalize("NFKD", _loose(text))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@cache
def _indexes() -> tuple[frozenset[str], dict[str, str], dict[str, tuple[str, ...]]]:
    names = [m.name for m in municipalities()]
    loose = {_loose(n): n for n in names}
    folded: dict[str, list[str]] = {}
    for name in names:
        folded.setdefault(_folded(name), []).append(name)  # Habo and Håbo fold to the same key
    return frozenset(names), loose, {k: tuple(v) for k, v in folded.items()}


def municipality_names() -> tuple[str, ...]:
    """The 290 official names, in code order (the values `official_name` returns)."""
    return tuple(m.name for m in municipalities())


def official_name(text: str) -> str:
    """The official name `text` means; `ValueError` naming the closest official names when it means none."""
    exact, loose, folded = _indexes()
    if text in exact:
        return text
    unicode_normal = unicodedata.normalize("NFC", text)  # a decomposed å (a + ring) from some exports
    if unicode_normal in exact:
        return unicode_normal
    if _loose(text) in loose:
        return loose[_loose(text)]
    same = folded.get(_folded(text), ())
    if len(same) == 1:
        return same[0]
    if same:
        raise ValueError(f"'{text}' is not a Swedish municipality; did you mean {_alternatives(list(same))}?")
    key = _folded(text)
    # `Väsby` is part of `Upplands Väsby`: a name that holds the text as a word comes before spelling neighbours.
    holding = [k for k in folded if len(key) >= 3 and f" {key} " in f" {k} "]
    close = holding + [k for k in _spelling_neighbours(key, list(folded)) if k not in holding]
    suggestions = [name for k in close[:3] for name in folded[k]]
    if suggestions:
        raise ValueError(f"'{text}' is not a Swedish municipality; did you mean {_alternatives(suggestions)}?")
    raise ValueError(f"'{text}' is not a Swedish municipality (use the name of one of SCB's 290, e.g. Sigtuna)")


def _spelling_neighbours(key: str, keys: list[str]) -> list[str]:
    """The closest keys by difflib's ratio, best first: those near the best, so `Sigtna` gets Sigtuna alone."""
    scored = sorted(((difflib.SequenceMatcher(None, key, k).ratio(), k) for k in keys), reverse=True)
    if not scored or scored[0][0] < 0.6:
        return []
    floor = max(0.6, scored[0][0] - 0.15)
    return [k for ratio, k in scored[:3] if ratio >= floor]


def _alternatives(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
