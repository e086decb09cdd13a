"""Why each proposal of a plan, in Swedish, built from the proposal's structured fields (change, slots, travel,
needs and what it frees) and, for the people left unplaced, from the core's suggestions (their notes and the rules
that keep the nearest or preferred slots out)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import matcher
from service.web import texts


@dataclass(frozen=True)
class ReviewFacts:
    """What the reasons are worded from, besides the proposals themselves."""

    slot_names: dict[str, str]  # slot id -> "aktivitet – arbetsplats, verksamhet"
    slot_activities: dict[str, str]
    site_names: dict[str, str]
    preferences: dict[str, list[str]]  # participant id -> activities, most wanted first
    unplaced: dict[str, matcher.Suggestions] = field(default_factory=dict)


def reasons(proposals: list[dict[str, Any]], facts: ReviewFacts) -> dict[str, str]:
    """Participant id -> why their proposal, in Swedish."""
    freed = _freed(proposals)
    return {p["participant_id"]: _reason(p, facts, freed.get(p["participant_id"], [])) for p in proposals}


def _freed(proposals: list[dict[str, Any]]) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """Freeing participant id -> (who needs it, the need) for every need of every proposal."""
    found: dict[str, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
    for p in proposals:
        for need in p.get("needs", []):
            found[need["freed_by"]].append((p["participant_id"], need))
    return found


def _slot(facts: ReviewFacts, slot_id: str | None) -> str:
    return facts.slot_names.get(slot_id, slot_id) if slot_id else "ingen plats"


def _fit(p: dict[str, Any], facts: ReviewFacts) -> list[str]:
    """How the proposed slot fits: the person's wish it meets, and the journey."""
    parts = []
    activity = facts.slot_activities.get(p["slot_id"] or "")
    wishes = facts.preferences.get(p["participant_id"], [])
    if activity is not None:
        parts.append(texts.preference(wishes.index(activity) + 1) if activity in wishes else "inte bland önskemålen")
    if p.get("travel_minutes") is not None:
        parts.append(f"{p['travel_minutes']} min resväg")
    return parts


def _frees(freed: list[tuple[str, dict[str, Any]]], facts: ReviewFacts) -> str:
    """'frigör en plats för P1 och P2 och 2,5 handledartimmar vid X för P3'."""
    seats = sorted({who for who, need in freed if need["kind"] == "seat"})
    hours: dict[str, float] = defaultdict(float)
    helped: dict[str, set[str]] = defaultdict(set)
    for who, need in freed:
        if need["kind"] == "supervision":
            hours[need["site_id"]] += float(need["hours"])
            helped[need["site_id"]].add(who)
    parts = [f"en plats för {texts.joined(seats)}"] if seats else []
    for site_id in sorted(hours):
        site, who = facts.site_names.get(site_id, site_id), texts.joined(sorted(helped[site_id]))
        parts.append(f"{texts.hours(round(hours[site_id], 2))} handledartimmar vid {site} för {who}")
    return "frigör " + " och ".join(parts) if parts else ""


def _needs(p: dict[str, Any]) -> str:
    by = sorted({need["freed_by"] for need in p.get("needs", [])})
    return f"förutsätter att {texts.joined(by)} flyttas eller lämnar" if by else ""


def _unplaced(suggestions: matcher.Suggestions | None) -> str:
    if suggestions is None:
        return "ingen plats passar eller alla passande är fulla"
    if suggestions.suggestions:
        first = suggestions.suggestions[0]
        return (
            f"platser som passar (t.ex. {texts.activity(first.activity)} – {first.site_name}) går till andra i planen"
        )
    said = [texts.note(n) for n in suggestions.notes if n != "no preferences recorded"]
    if said:
        return "; ".join(said)
    for out in suggestions.excluded:
        if out.reasons:
            why = ", ".join(texts.reason(r.rule, r.message).lower() for r in out.reasons[:2])
            return f"{texts.activity(out.activity)} – {out.site_name}: {why}"
    return "ingen plats passar"


def _reason(p: dict[str, Any], facts: ReviewFacts, freed: list[tuple[str, dict[str, Any]]]) -> str:
    change = p["change"]
    if change == "new":
        text = ", ".join([f"Ny plats: {_slot(facts, p['slot_id'])}", *_fit(p, facts)])
        needs = _needs(p)
        return f"{text}; {needs}" if needs else text
    if change == "moves":
        head = f"Flyttas från {_slot(facts, p['current_slot_id'])} till {_slot(facts, p['slot_id'])}"
        frees = _frees(freed, facts)
        tail = frees or "passar bättre (" + ", ".join(_fit(p, facts)) + ")"
        needs = _needs(p)
        return f"{head}: {tail}" + (f"; {needs}" if needs else "")
    if change == "leaves":
        frees = _frees(freed, facts) or "så att fler kan placeras"
        return f"Lämnar {_slot(facts, p['current_slot_id'])}: {frees}"
    if change == "unchanged":
        text = f"Behåller {_slot(facts, p['current_slot_id'] or p['slot_id'])}" + (" (låst)" if p.get("pinned") else "")
        despite = [texts.RULE_SV.get(rule, rule) for rule in p.get("kept_despite", [])]
        return text + (" trots att det brister i: " + ", ".join(despite) if despite else "")
    reason = _unplaced(facts.unplaced.get(p["participant_id"]))
    return "Oplacerad: " + reason
