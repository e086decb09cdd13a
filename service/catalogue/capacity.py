"""Capacity changes of slots and sites, written one way: ETag/If-Match, the change history, and the refusal that
names the active placements in the way, who may end or move them, and what the caller may do instead."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy.orm import Session

from matcher import SUPERVISION
from service.catalogue import repository as repo
from service.db import models as db
from service.errors import Conflict, PreconditionFailed, PreconditionRequired
from service.fields import header_text

Versioned = db.Slot | db.Site
SLOT_FIELDS_ON_CREATE = ("seats", "min_hours", "max_hours", "days")  # the first rows of a new slot's history
SITE_FIELDS_ON_CREATE = ("supervisor_hours",)


def _noun(target: Versioned) -> str:
    return "slot" if isinstance(target, db.Slot) else "site"


def etag(target: Versioned) -> str:
    """`"<id>.v<version>"`; an id outside the id alphabet (stored before it was enforced) is percent-encoded, so the
    header always encodes (an id of the alphabet is as it is)."""
    return f'"{header_text(target.id)}.v{target.version}"'


def require_if_match(if_match: str | None) -> str:
    """428 when the header is missing: checked before the row is locked, so a forgetful client costs no lock."""
    if not if_match or not if_match.strip():
        raise PreconditionRequired("send If-Match with the ETag from your last read, so no change is lost")
    return if_match.strip()


def check_if_match(if_match: str, target: Versioned) -> None:
    """412 unless `if_match` is the target's current ETag (or `*`); `target` must be freshly read under its lock."""
    if if_match not in (etag(target), "*"):
        raise PreconditionFailed(
            f"the {_noun(target)} changed since you read it (now {etag(target)}); "
            "read it again and reapply your change",
            current_etag=etag(target),
        )


def _json(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def _history_row(user: db.User, target: Versioned, field: str, old: Any, new: Any) -> db.CapacityChange:
    key = {"slot_id": target.id} if isinstance(target, db.Slot) else {"site_id": target.id}
    return db.CapacityChange(
        association_id=target.association_id,
        user_id=user.id,
        field=field,
        old_value=_json(old),
        new_value=_json(new),
        **key,
    )


def record_created(session: Session, user: db.User, target: Versioned) -> None:
    """The history's first rows: the capacity fields a new slot or site starts with (POST and imports alike)."""
    fields = SLOT_FIELDS_ON_CREATE if isinstance(target, db.Slot) else SITE_FIELDS_ON_CREATE
    session.add_all(_history_row(user, target, f, None, getattr(target, f)) for f in fields)


def record_change(session: Session, user: db.User, target: Versioned, field: str, old: Any, new: Any) -> None:
    """One history row for a field already set (an import sets its fields itself, then records each change)."""
    session.add(_history_row(user, target, field, old, new))


def apply_changes(session: Session, user: db.User, target: Versioned, changes: dict[str, Any]) -> None:
    """Set the fields that differ and keep one history row each (unchanged values leave no row)."""
    for field, value in changes.items():
        old = getattr(target, field)
        if old != value:
            session.add(_history_row(user, target, field, old, value))
            setattr(target, field, value)


def history(session: Session, target: Versioned) -> list[db.CapacityChange]:
    if isinstance(target, db.Slot):
        return repo.capacity_history(session, target.association_id, slot_id=target.id)
    return repo.capacity_history(session, target.association_id, site_id=target.id)


# --- what active placements need ----------------------------------------------------------------------------------


def supervision_need(
    session: Session,
    association_id: str,
    site_id: str,
    pinned_only: bool = False,
    ratio_of: dict[str, float] | None = None,
) -> tuple[float, list[int]]:
    """Supervisor hours a week the site's active placements need (hours × the slot's ratio, summed), and their ids.

    `ratio_of` (slot id -> ratio) replaces a slot's ratio: the need if that slot's ratio changed."""
    ratios = ratio_of or {}
    rows = repo.supervised_placements(session, association_id, site_id, pinned_only)
    need = sum(hours * ratios.get(slot_id, ratio) for _, slot_id, hours, ratio in rows)
    return float(need), [int(placement_id) for placement_id, *_ in rows]


# --- refusals that say who can act --------------------------------------------------------------------------------


def _ids(placement_ids: list[int]) -> str:
    return ", ".join(str(i) for i in placement_ids)


def who_can_act(session: Session, placement_ids: list[int]) -> list[dict[str, Any]]:
    """The coordinator (any placement) and the coach of each placement's participant, by login name.

    Names staff only, never a participant: an enterprise manager reads this too."""
    rows = repo.coaches_of_placements(session, placement_ids)
    coaches: dict[tuple[int, str], list[int]] = defaultdict(list)
    for placement_id, coach_id, name in rows:
        coaches[(coach_id, name)].append(int(placement_id))
    return [{"role": "coordinator", "placements": list(placement_ids)}] + [
        {"role": "coach", "user_id": coach_id, "name": name, "placements": ids}
        for (coach_id, name), ids in coaches.items()
    ]


def blocked_by_placements(
    session: Session, user: db.User, problem: str, placement_ids: list[int], manager_can: str, **extra: Any
) -> Conflict:
    """A 409 naming the placements in the way, who may end or move them, and what this caller can do."""
    actors = who_can_act(session, placement_ids)
    coaches = "; ".join(f"{a['name']}: {_ids(a['placements'])}" for a in actors if a["role"] == "coach")
    by = f"the coordinator or each participant's coach ({coaches})" if coaches else "the coordinator"
    if user.role is db.Role.coordinator:
        you_can = f"end or move placements {_ids(placement_ids)} first"
    else:
        you_can = f"{manager_can}, or ask the coordinator"
    detail = f"{problem}; placements {_ids(placement_ids)} can be ended or moved by {by}. You can {you_can}."
    return Conflict(detail, placements=placement_ids, who_can_act=actors, **extra)


def refuse_seats_below_taken(
    session: Session, user: db.User, slot: db.Slot, seats: int, taken_ids: list[int]
) -> Conflict:
    return blocked_by_placements(
        session,
        user,
        f"slot '{slot.id}' has {len(taken_ids)} seat(s) taken, so seats cannot go below that (asked {seats})",
        taken_ids,
        "lower the seats when those placements have ended, or schedule the lower seats from a date with "
        f"POST /slots/{slot.id}/scheduled-changes",
        reason="seats_taken",
    )


def refuse_hours_below_need(
    session: Session, user: db.User, site: db.Site, hours: float, need: float, placement_ids: list[int]
) -> Conflict:
    return blocked_by_placements(
        session,
        user,
        f"site {site.name} ({site.id}): the active placements {_ids(placement_ids)} need {need:g} supervisor hours a "
        f"week, so supervisor_hours cannot go below that (asked {hours:g})",
        placement_ids,
        "lower the supervisor hours when those placements have ended, or schedule them from a date with "
        f"POST /sites/{site.id}/scheduled-changes",
        reason="supervision_needed",
        supervisor_hours_needed=round(need, 6),
    )


def refuse_ratio_above_supervision(
    session: Session, user: db.User, slot: db.Slot, site: db.Site, ratio: float, need: float, placement_ids: list[int]
) -> Conflict:
    assert site.supervisor_hours is not None
    return blocked_by_placements(
        session,
        user,
        f"slot '{slot.id}': supervision_ratio {ratio:g} would make the active placements {_ids(placement_ids)} of site "
        f"{site.name} ({site.id}) need {need:g} supervisor hours a week, and the site has {site.supervisor_hours:g}",
        placement_ids,
        "raise the site's supervisor_hours first, or change the ratio when those placements have ended",
        reason="supervision_needed",
        supervisor_hours_needed=round(need, 6),
    )


def pinned_limit_problems(session: Session, association_id: str) -> list[str]:
    """Slots and sites whose pinned placements alone overfill them (the core then cannot plan), each with what to do.

    The core's own rule in database terms: a pinned participant keeps the seat of their active placement."""
    sites = repo.supervised_sites(session, association_id)
    problems = []
    for site in sites:
        need, ids = supervision_need(session, association_id, site.id, pinned_only=True)
        assert site.supervisor_hours is not None
        if not SUPERVISION.fits(0.0, need, site.supervisor_hours):
            problems.append(
                f"site {site.name} ({site.id}): the pinned placements {_ids(ids)} need {need:g} supervisor hours a "
                f"week, it has {site.supervisor_hours:g}; raise the site's supervisor_hours, or unpin or end some of "
                "those placements (the coordinator or each participant's coach)"
            )
    for slot in repo.association_slots(session, association_id):
        ids = repo.pinned_placements(session, association_id, slot.id)
        if len(ids) > slot.seats:
            problems.append(
                f"slot {slot.id} ({slot.activity}, site {slot.site_id}): the pinned placements {_ids(ids)} hold "
                f"{len(ids)} seats, it has {slot.seats}; raise the slot's seats, or unpin or end some of those "
                "placements (the coordinator or each participant's coach)"
            )
    return problems
