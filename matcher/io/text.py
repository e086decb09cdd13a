"""What an id, a code and a free text may hold: one set of rules for the import reader and the service's schemas.

Whatever passes here is stored as returned, written by an export and read back by an import unchanged, and fits
in an HTTP header (ids are ASCII). The rules are those of docs/data-format.md ("Ids, codes and text"):

- an **id** (of an enterprise, site, slot or participant) and a **code** (programme, activity, need, support,
  accessibility) is 1-64 characters of the safe alphabet `A-Z a-z 0-9 _ . -`, starting with a letter or digit;
- a **text** (a name) is normalised to NFC, its line breaks to LF, and stripped of surrounding whitespace; it must
  not be empty then, and must not hold a control character (C0 but tab and line feed, DEL, C1 such as U+0085),
  a format character (zero-width, bidi
  controls, soft hyphen, byte-order mark), a line or paragraph separator, a surrogate or a private-use character
  (unassigned code points are not refused: which ones are unassigned changes with each Unicode version, and the
  published pattern, `UNSAFE_TEXT_CLASS`, must say exactly what is refused);
- nothing (id, code or text) may look like a Swedish personal identity or coordination number (`19850101-1234`,
  `850101-1234`, `198501011234`, `850101+1234`, `8501011234`; day + 60 for a coordination number): the data is
  pseudonymous;
- a **participant's** id and codes must not look like a personal name either (`Anna Andersson`, `Anna_Andersson`:
  two or more capitalised alphabetic words). Names of enterprises and sites are names of organisations and places,
  not of people, so this rule is not applied to them.

Each check returns the value to store or raises `ValueError` with a message a coordinator can act on.
"""

from __future__ import annotations

import re
import unicodedata

MAX_ID_LENGTH = 64
MAX_TEXT_LENGTH = 200
ID_ALPHABET = "A-Z a-z 0-9 _ . -"
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"
"""The JSON-schema pattern of an id or code (what the OpenAPI shows); `check_id` says why a value fails it."""
ID_SAFE_CHARACTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-"

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")
_DAY = r"(?:0[1-9]|[12][0-9]|3[01]|6[1-9]|[78][0-9]|9[01])"  # 61-91: a coordination number's day + 60
PERSONAL_NUMBER_PATTERN = (
    rf"(?<![0-9])(?:(?:18|19|20)[0-9]{{2}}|[0-9]{{2}})(?:0[1-9]|1[0-2]){_DAY}[-+]?[0-9]{{4}}(?![0-9])"
)
"""Something shaped like a Swedish personal identity or coordination number, anywhere in a value."""
_PERSONAL_NUMBER = re.compile(PERSONAL_NUMBER_PATTERN)
PERSONAL_NAME_ID_PATTERN = r"^[A-Z][a-z]+(?:[_.\-]+[A-Z][a-z]+)+$"
"""The ids of the alphabet that `looks_like_personal_name` refuses for a participant (the rule over ASCII)."""
_WORD_SEPARATOR = re.compile(r"[\s_.\-]+")
# Unicode categories never allowed in stored text: controls, format characters (zero-width, bidi), surrogates,
# private use, and line/paragraph separators (a one-line value split in two by an export).
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Zl", "Zp"})
# The code points of those categories (tab and line feed excepted), as ranges: what the OpenAPI publishes. A test
# checks them against `unicodedata`, so a Python with another Unicode version is caught rather than drifting.
UNSAFE_RANGES: tuple[tuple[int, int], ...] = (
    (0x0000, 0x0008),
    (0x000B, 0x001F),
    (0x007F, 0x009F),
    (0x00AD, 0x00AD),
    (0x0600, 0x0605),
    (0x061C, 0x061C),
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x0890, 0x0891),
    (0x08E2, 0x08E2),
    (0x180E, 0x180E),
    (0x200B, 0x200F),
    (0x2028, 0x202E),
    (0x2060, 0x2064),
    (0x2066, 0x206F),
    (0xD800, 0xF8FF),
    (0xFEFF, 0xFEFF),
    (0xFFF9, 0xFFFB),
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x13438),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0001, 0xE0001),
    (0xE0020, 0xE007F),
    (0xF0000, 0xFFFFD),
    (0x100000, 0x10FFFD),
)


def _class_member(code: int) -> str:
    # BMP code points as `\uXXXX` (read alike by Python and ECMA-262 patterns); others as the character itself.
    return f"\\u{code:04x}" if code <= 0xFFFF else chr(code)


UNSAFE_TEXT_CLASS = "".join(
    _class_member(a) if a == b else f"{_class_member(a)}-{_class_member(b)}" for a, b in UNSAFE_RANGES
)
"""The characters `unsafe_character` refuses, as the inside of a regular-expression character class."""
PSEUDONYMOUS = "pseudonymous codes only"


_ALLOWED_CONTROLS = frozenset("\t\n")  # a cell may hold a tab and (quoted) line breaks, as the reading rules say


def unsafe_character(text: str) -> str | None:
    """The first character of `text` that stored text may not hold, described (`U+0085 (a control character)`).

    Tab and line feed are allowed (a quoted cell may hold them); `clean_text` turns CR LF and CR into LF first."""
    for char in text:
        category = unicodedata.category(char)
        if category in _UNSAFE_CATEGORIES and char not in _ALLOWED_CONTROLS:
            return f"U+{ord(char):04X} ({_KINDS[category]})"
    return None


_KINDS = {
    "Cc": "a control character",
    "Cf": "an invisible formatting character such as zero-width or bidi",
    "Cs": "a lone surrogate",
    "Co": "a private-use character",
    "Zl": "a line separator",
    "Zp": "a paragraph separator",
}


def looks_like_personal_number(text: str) -> bool:
    """Whether `text` holds something shaped like a Swedish personal identity or coordination number."""
    return _PERSONAL_NUMBER.search(text) is not None


def looks_like_personal_name(text: str) -> bool:
    """Two or more capitalised alphabetic words (`Anna Andersson`, `Anna_Andersson`, `Karl-Erik Öberg`)."""
    words = [w for w in _WORD_SEPARATOR.split(text) if w]
    return len(words) >= 2 and all(len(w) >= 2 and w.isalpha() and w[0].isupper() and w[1:].islower() for w in words)


def _refuse_personal(text: str, personal: bool) -> None:
    if looks_like_personal_number(text):
        raise ValueError(f"{PSEUDONYMOUS}: '{_shown(text)}' looks like a personal identity number")
    if personal and looks_like_personal_name(text):
        raise ValueError(f"{PSEUDONYMOUS}: '{_shown(text)}' looks like a person's name")


def _shown(text: str) -> str:
    """The value as a message may quote it: unsafe characters escaped, long values cut."""
    shown = "".join(c if unicodedata.category(c) not in _UNSAFE_CATEGORIES else f"\\u{ord(c):04x}" for c in text)
    return shown if len(shown) <= 80 else shown[:77] + "..."


def check_id(text: str, *, personal: bool = False) -> str:
    """An id or code as stored: exactly `text`, or `ValueError` saying why not.

    `personal`: the id or code of a participant, which must not look like a person's name either."""
    _refuse_personal(text, personal)
    if not _ID.fullmatch(text):
        if not text.strip():
            raise ValueError("an id or code must not be empty or only whitespace")
        bad = unsafe_character(text)
        if bad:
            raise ValueError(f"'{_shown(text)}' holds {bad}; use 1-{MAX_ID_LENGTH} of {ID_ALPHABET}")
        if any(c.isspace() for c in text):
            raise ValueError(f"'{_shown(text)}' holds a space; ids and codes are {PSEUDONYMOUS} without spaces")
        if len(text) > MAX_ID_LENGTH:
            raise ValueError(f"an id or code has at most {MAX_ID_LENGTH} characters, got {len(text)}")
        raise ValueError(
            f"'{_shown(text)}' is not a valid id or code: use 1-{MAX_ID_LENGTH} of {ID_ALPHABET}, "
            "starting with a letter or digit"
        )
    return text


def clean_text(text: str, *, personal: bool = False, max_length: int = MAX_TEXT_LENGTH) -> str:
    """A free text (a name) as stored: NFC, surrounding whitespace stripped; `ValueError` saying why not."""
    cleaned = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n").strip()
    if not cleaned:
        raise ValueError("must not be empty or only whitespace")
    bad = unsafe_character(cleaned)
    if bad:
        raise ValueError(f"holds {bad}; only printable text is allowed")
    if len(cleaned) > max_length:
        raise ValueError(f"has at most {max_length} characters, got {len(cleaned)}")
    _refuse_personal(cleaned, personal)
    return cleaned
