"""What a plan saw when it was solved: each person's active placement, each slot's version, each site's hours.

Read in the same transaction as the instance, so apply can tell which proposals' premises changed since.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from service.core_bridge import active_placements
from service.plans import repository as repo


@dataclass(frozen=True)
class SolvePremise:
    placement_ids: dict[str, int]  # participant_id -> active placement id
    slot_versions: dict[str, int]
    site_supervisor_hours: dict[str, float | None]


def read_premise(session: Session, association_id: str) -> SolvePremise:
    slots = repo.slot_versions(session, association_id)
    return SolvePremise(
        placement_ids={pid: p.id for pid, p in active_placements(session, association_id).items()},
        slot_versions={slot_id: version for slot_id, version, _, _ in slots},
        site_supervisor_hours={site_id: hours for _, _, site_id, hours in slots},
    )
