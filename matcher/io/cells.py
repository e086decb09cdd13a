"""Converters from one cell's text to a typed value, following the reading rules of docs/data-format.md.

Each converter raises `ValueError` with a message a coordinator can act on; the reader adds file, row and column.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import date
from typing import Any

from matcher.domain import GENDERS, TRAVEL_MODES, WEEKDAYS
from matcher.io.municipalities import official_name
from matcher.io.text import check_id, clean_text

# `sant`/`falskt` are what Swedish Excel writes for TRUE/FALSE.
TRUE_WORDS = frozenset({"true", "yes", "ja", "sant", "1"})
FALSE_WORDS = frozenset({"false", "no", "nej", "falskt", "0", ""})

Converter = Callable[[str, bool], Any]


def to_str(text: str, decimal_comma: bool) -> str:
    return text


def to_text(text: str, decimal_comma: bool) -> str:
    """A name (of an enterprise or a site): see `matcher.io.text.clean_text`."""
    return clean_text(text)


def to_id(text: str, decimal_comma: bool) -> str:
    """An id or code: see `matcher.io.text.check_id`."""
    return check_id(text)


def to_participant_id(text: str, decimal_comma: bool) -> str:
    """A participant's id or code: not shaped like a person's name either."""
    return check_id(text, personal=True)


def to_float(text: str, decimal_comma: bool) -> float:
    candidate = text.replace(",", ".", 1) if decimal_comma and text.count(",") == 1 and "." not in text else text
    try:
        value = float(candidate)
    except ValueError:
        hint = (
            " (a comma decimal is allowed only in a file separated by ';' or a tab)"
            if "," in text and not decimal_comma
            else ""
        )
        raise ValueError(f"'{text}' is not a number{hint}") from None
    if not math.isfinite(value):
        raise ValueError(f"'{text}' is not a finite number")
    return value


def to_int(text: str, decimal_comma: bool) -> int:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = to_float(text, decimal_comma)
    except ValueError:
        raise ValueError(f"'{text}' is not a whole number") from None
    if not value.is_integer():
        raise ValueError(f"'{text}' is not a whole number")
    return int(value)


def to_bool(text: str, decimal_comma: bool) -> bool:
    word = text.lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"'{text}' is not a yes/no value (use true/false, yes/no, ja/nej, sant/falskt or 1/0)")


ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
DATE_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{1,2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?")


def to_date(text: str, decimal_comma: bool) -> date:
    if DATE_TIME.fullmatch(text):
        # A workbook's date-time at midnight arrives here as a plain date (see tables); any other time of day is
        # a value a person must look at, not one to round away.
        raise ValueError(f"'{text}' has a time of day; the column takes a date (YYYY-MM-DD)")
    # Only YYYY-MM-DD: `date.fromisoformat` also takes week dates such as 2026-W48-1, which are 10 long too.
    if ISO_DATE.fullmatch(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    raise ValueError(f"'{text}' is not a date in the form YYYY-MM-DD")


def to_list(text: str, decimal_comma: bool) -> tuple[str, ...]:
    """Items separated by `|`, spaces around items ignored, empty items dropped; order kept (preferences rank)."""
    return tuple(item.strip() for item in text.split("|") if item.strip())


def to_set(text: str, decimal_comma: bool) -> frozenset[str]:
    return frozenset(to_list(text, decimal_comma))


def _checked_items(text: str, personal: bool) -> tuple[str, ...]:
    items = to_list(text, False)
    for item in items:
        check_id(item, personal=personal)
    return items


def to_code_list(text: str, decimal_comma: bool) -> tuple[str, ...]:
    """A list of codes (or ids), each as `to_id` takes it; order kept."""
    return _checked_items(text, False)


def to_code_set(text: str, decimal_comma: bool) -> frozenset[str]:
    return frozenset(_checked_items(text, False))


def to_participant_code_list(text: str, decimal_comma: bool) -> tuple[str, ...]:
    return _checked_items(text, True)


def to_participant_code_set(text: str, decimal_comma: bool) -> frozenset[str]:
    return frozenset(_checked_items(text, True))


def to_days(text: str, decimal_comma: bool) -> frozenset[str]:
    days = [item.lower() for item in to_list(text, decimal_comma)]
    unknown = [d for d in days if d not in WEEKDAYS]
    if unknown:
        raise ValueError(f"unknown weekday {', '.join(repr(d) for d in unknown)} (use {'|'.join(WEEKDAYS)})")
    return frozenset(days)


def one_of(choices: tuple[str, ...]) -> Converter:
    def convert(text: str, decimal_comma: bool) -> str:
        word = text.lower()
        if word not in choices:
            raise ValueError(f"'{text}' is not one of {', '.join(choices)}")
        return word

    return convert


def to_municipality(text: str, decimal_comma: bool) -> str:
    """The official name of one of Sweden's 290 municipalities; a near miss in case or diacritics is corrected."""
    return official_name(text)


to_gender = one_of(GENDERS)
to_travel_mode = one_of(TRAVEL_MODES)
