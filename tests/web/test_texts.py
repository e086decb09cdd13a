"""The Swedish words of service/web/texts.py: every rule label of the core has one, and the core's reasons and the
reader's problems come out in Swedish with their figures."""

from __future__ import annotations

import pytest

from matcher import EXPLANATION_LABELS
from service.web import texts


def test_every_rule_label_of_the_core_has_swedish_words() -> None:
    assert set(EXPLANATION_LABELS) <= set(texts.RULE_SV)


@pytest.mark.parametrize(
    ("rule", "message", "swedish"),
    [
        ("travel_ok", "travel 52 min > 45 min", "Resan tar 52 min, mer än 45 min"),
        ("hours_fit", "30 h/week is outside the slot's 5–20 h", "Önskar 30 timmar i veckan, platsen har 5–20 timmar"),
        (
            "needs_covered",
            "needs quiet_room, wheelchair (not offered here)",
            "Saknar stöd: tyst rum, tillgängligt för rullstol",
        ),
        ("days_overlap", "no common weekday", "Inga gemensamma veckodagar"),
        ("age_ok", "age 17 outside 18–64", "Ålder 17 är utanför 18–64 år"),
        ("seats_free", "no seats left", "Inga lediga platser"),
        (
            "supervision_free",
            "supervision full (1.5 h left, 3 h needed)",
            "Handledartiden är full (1.5 tim kvar, 3 tim behövs)",
        ),
    ],
)
def test_the_cores_reasons_in_swedish(rule: str, message: str, swedish: str) -> None:
    assert texts.reason(rule, message) == swedish


@pytest.mark.parametrize(
    ("message", "swedish"),
    [
        ("'x' is not a whole number", "’x’ är inte ett heltal"),
        ("required value is empty", "Värdet saknas"),
        ("must be at least 0, got -3", "Ska vara minst 0, är -3"),
        ("unknown site 'nowhere'", "Okänd arbetsplats ’nowhere’"),
        ("duplicate slot_id (first on row 2)", "Dubblett (första gången på rad 2)"),
        (
            "required column is missing; found 'seatz', did you mean it? (columns found: 'seatz')",
            "Kolumnen saknas; menade du ’seatz’?",
        ),
    ],
)
def test_the_readers_problems_in_swedish(message: str, swedish: str) -> None:
    assert texts.import_problem(message) == swedish


def test_a_problem_without_swedish_words_says_so_and_keeps_the_readers_words() -> None:
    assert texts.import_problem("something new") == "Felaktigt värde (läsarens ord: something new)"


def test_activities_are_named_never_bare_codes() -> None:
    assert texts.activity("carpentry") == "snickeri"
    assert texts.activity("brand_new_thing") == "brand new thing"
