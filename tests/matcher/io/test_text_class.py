"""The published character class of refused text is exactly what `unsafe_character` refuses."""

from __future__ import annotations

import re
import unicodedata

import matcher
from matcher.io.text import UNSAFE_RANGES

_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Zl", "Zp"}


def test_the_ranges_are_the_refused_categories_of_this_unicode_version() -> None:
    refused = [cp for cp in range(0x110000) if unicodedata.category(chr(cp)) in _CATEGORIES and chr(cp) not in "\t\n"]
    in_ranges = [cp for a, b in UNSAFE_RANGES for cp in range(a, b + 1)]
    assert in_ranges == refused


def test_the_class_matches_a_character_exactly_when_unsafe_character_refuses_it() -> None:
    pattern = re.compile(f"^[^{matcher.UNSAFE_TEXT_CLASS}]*$")
    samples = ["\t", "\n", "a", "å", "\u0085", "\x7f", "\u200b", "\u202e", "\ufeff", "\u00ad", "\U000e0001", "😀"]
    samples += ["\U00100000", "\ue000", "\u2028", "\u0378"]  # U+0378 is unassigned: allowed
    for char in samples:
        assert (pattern.fullmatch(char) is None) == (matcher.unsafe_character(char) is not None), repr(char)
