"""First start: migrate, create the association, load the sample region, and create one demo user per role."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

import matcher
from service.auth.users import add_user
from service.db import models as db
from service.db.engine import transaction
from service.db.migrate import upgrade
from service.imports.loader import insert_dataset
from service.settings import ServiceSettings

log = logging.getLogger("service")
DEMO_COACH_PARTICIPANTS = 20


def prepare_database(settings: ServiceSettings) -> None:
    upgrade(settings.database_url)


def ensure_association(session: Session, settings: ServiceSettings) -> None:
    if session.get(db.Association, settings.association_id) is None:
        session.add(db.Association(id=settings.association_id, name=settings.association_name))
        session.flush()


def load_sample_if_empty(factory: sessionmaker[Session], settings: ServiceSettings) -> bool:
    with transaction(factory) as session:
        ensure_association(session, settings)
        query = select(func.count()).select_from(db.Enterprise)
        if session.scalar(query.where(db.Enterprise.association_id == settings.association_id)):
            return False
        if not settings.sample_data.exists():
            log.warning("no sample data at %s; starting empty", settings.sample_data)
            return False
        instance = matcher.load_dataset(settings.sample_data)
        insert_dataset(session, instance, settings.association_id)
        return True


def create_demo_users(factory: sessionmaker[Session], settings: ServiceSettings) -> list[tuple[str, str, str]]:
    """One user per role, only when there are no users at all; tokens are written to a local file for the demo."""
    with transaction(factory) as session:
        if session.scalar(select(func.count()).select_from(db.User)):
            return []
        enterprise = session.scalar(
            select(db.Enterprise.id)
            .where(db.Enterprise.association_id == settings.association_id)
            .order_by(db.Enterprise.id)
            .limit(1)
        )
        created = []
        for name, role, enterprise_id in (
            ("demo-coordinator", db.Role.coordinator, None),
            ("demo-coach", db.Role.coach, None),
            ("demo-manager", db.Role.enterprise_manager, enterprise),
        ):
            if role is db.Role.enterprise_manager and enterprise_id is None:
                continue
            user, token = add_user(session, name, role, settings.association_id, enterprise_id)
            created.append((name, role.value + (f" ({enterprise_id})" if enterprise_id else ""), token))
            if role is db.Role.coach:
                people = session.scalars(
                    select(db.Participant)
                    .where(db.Participant.association_id == settings.association_id)
                    .order_by(db.Participant.id)
                    .limit(DEMO_COACH_PARTICIPANTS)
                ).all()
                for person in people:
                    person.coach_id = user.id
    _write_tokens(settings.demo_tokens_file, created)
    return created


def _write_tokens(path: Path, created: list[tuple[str, str, str]]) -> None:
    if not created:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{name}\t{role}\t{token}\n" for name, role, token in created), encoding="utf-8")
    os.chmod(path, 0o600)  # demo tokens only; real users get theirs once from `placement user add`


def read_demo_tokens(path: Path) -> list[tuple[str, str, str]]:
    if not path.exists():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) == 3:
            rows.append((parts[0], parts[1], parts[2]))
    return rows
