"""The database schema. Participants are pseudonymous codes: no names or identity numbers are stored."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ColumnElement,
    Date,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    and_,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


MAX_INT = 2_147_483_647
"""The largest INTEGER both databases store (PostgreSQL's int4): no id is larger, and a larger value sent to the
database fails there instead of finding nothing, so ids and counts from requests are bounded by it."""


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """DateTime(timezone=True) that always reads back an aware UTC time: SQLite keeps no offset, so without this
    the same timestamp would read back naive there and aware on PostgreSQL (and naive/aware comparisons fail)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


# (str, Enum), not StrEnum: str() and format() of a member stay as they were; ruff's UP042 would change them.
class Role(str, enum.Enum):  # noqa: UP042
    coach = "coach"
    coordinator = "coordinator"
    enterprise_manager = "enterprise_manager"


class PlanStatus(str, enum.Enum):  # noqa: UP042
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"


class EndReason(str, enum.Enum):  # noqa: UP042
    work = "work"
    studies = "studies"
    other_programme = "other_programme"
    moved = "moved"
    dropped_out = "dropped_out"
    health = "health"  # ended for health reasons
    completed = "completed"  # the agreed period was completed
    transferred = "transferred"  # ended by an applied plan (moved to another slot, or taken out); not an outcome


# Tenancy: the ids people choose (participants, enterprises, sites, slots) are unique within an association, not
# across associations, so two associations can each have a participant P0001 or a slot `kafe`, and nothing of one
# (not even that an id is taken) shows in the other. Each of these tables has the primary key (association_id, id),
# and every table that refers to one of them carries association_id too, with a composite foreign key
# (association_id, x_id) -> x(association_id, id); sites and slots get association_id denormalised from their
# enterprise so that their own children can refer to them the same way.
# Chosen over a surrogate integer key with UNIQUE(association_id, id): the ids stay what every row, file, URL and
# plan result already uses (no id translation in imports, exports, plans or the core bridge), and the database itself
# makes a cross-association reference impossible (a placement of association A cannot point at a slot of B, since
# the foreign key includes the association). The price is that every lookup names the association, which is what
# the scoping needs anyway: `session.get(db.Slot, (association_id, slot_id))`.


class Association(Base):
    __tablename__ = "associations"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))  # a staff login name, never a participant's
    role: Mapped[Role] = mapped_column(Enum(Role, name="role", native_enum=False, length=32))
    association_id: Mapped[str] = mapped_column(ForeignKey("associations.id"))
    enterprise_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    __table_args__ = (
        ForeignKeyConstraint(
            ["association_id", "enterprise_id"],
            ["enterprises.association_id", "enterprises.id"],
            name="fk_users_enterprise_id_enterprises",
        ),
    )


class Enterprise(Base):
    __tablename__ = "enterprises"
    association_id: Mapped[str] = mapped_column(ForeignKey("associations.id"), primary_key=True, index=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    municipality: Mapped[str] = mapped_column(String(100))
    sites: Mapped[list[Site]] = relationship(back_populates="enterprise")


class Site(Base):
    __tablename__ = "sites"
    association_id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the enterprise's
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(200))
    municipality: Mapped[str] = mapped_column(String(100))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    accessibility: Mapped[list[str]] = mapped_column(JSON, default=list)
    supervisor_hours: Mapped[float | None] = mapped_column(Float, nullable=True)
    # The ETag; bumped by every change. The server default let migration 0002 add it without rebuilding the table.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))
    enterprise: Mapped[Enterprise] = relationship(back_populates="sites")
    slots: Mapped[list[Slot]] = relationship(back_populates="site")
    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        ForeignKeyConstraint(
            ["association_id", "enterprise_id"],
            ["enterprises.association_id", "enterprises.id"],
            name="fk_sites_enterprise_id_enterprises",
        ),
    )


class Slot(Base):
    __tablename__ = "slots"
    association_id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the site's
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    site_id: Mapped[str] = mapped_column(String(64), index=True)
    activity: Mapped[str] = mapped_column(String(100))
    seats: Mapped[int] = mapped_column(Integer)
    min_hours: Mapped[int] = mapped_column(Integer)
    max_hours: Mapped[int] = mapped_column(Integer)
    days: Mapped[list[str]] = mapped_column(JSON, default=list)
    supports: Mapped[list[str]] = mapped_column(JSON, default=list)
    programmes: Mapped[list[str]] = mapped_column(JSON, default=list)
    min_age: Mapped[int | None] = mapped_column(Integer, nullable=True)
    max_age: Mapped[int | None] = mapped_column(Integer, nullable=True)
    women_only: Mapped[bool] = mapped_column(Boolean, default=False)
    supervision_ratio: Mapped[float] = mapped_column(Float, default=0.25)
    available_from: Mapped[date | None] = mapped_column(Date, nullable=True)
    available_to: Mapped[date | None] = mapped_column(Date, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)  # the ETag; bumped by every change
    site: Mapped[Site] = relationship(back_populates="slots")
    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        ForeignKeyConstraint(
            ["association_id", "site_id"], ["sites.association_id", "sites.id"], name="fk_slots_site_id_sites"
        ),
    )


class Participant(Base):
    __tablename__ = "participants"
    association_id: Mapped[str] = mapped_column(ForeignKey("associations.id"), primary_key=True, index=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # pseudonymous code
    coach_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True, index=True)
    programme: Mapped[str] = mapped_column(String(64))
    municipality: Mapped[str] = mapped_column(String(100))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    age: Mapped[int | None] = mapped_column(Integer, nullable=True)
    gender: Mapped[str | None] = mapped_column(String(1), nullable=True)
    hours_per_week: Mapped[int] = mapped_column(Integer)
    days_available: Mapped[list[str]] = mapped_column(JSON, default=list)
    max_travel_minutes: Mapped[int] = mapped_column(Integer)
    travel_mode: Mapped[str] = mapped_column(String(16), default="transit")
    needs: Mapped[list[str]] = mapped_column(JSON, default=list)
    preferences: Mapped[list[str]] = mapped_column(JSON, default=list)
    avoid_enterprises: Mapped[list[str]] = mapped_column(JSON, default=list)
    waiting_since: Mapped[date | None] = mapped_column(Date, nullable=True)
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    # Set by an erasure: the row's id is then a pseudonym and its personal fields are blank; it stays only so the
    # placements of an erased person keep counting in the aggregate reports. No route shows it, no plan uses it.
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class TravelTime(Base):
    __tablename__ = "travel_times"
    association_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    participant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    site_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    minutes: Mapped[int] = mapped_column(Integer)
    __table_args__ = (
        ForeignKeyConstraint(
            ["association_id", "participant_id"],
            ["participants.association_id", "participants.id"],
            name="fk_travel_times_participant_id_participants",
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["association_id", "site_id"],
            ["sites.association_id", "sites.id"],
            name="fk_travel_times_site_id_sites",
            ondelete="CASCADE",
        ),
    )


class Placement(Base):
    """A seat taken; the active one (no end date) is the participant's `current_slot_id`. Ended ones stay."""

    __tablename__ = "placements"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    association_id: Mapped[str] = mapped_column(String(64))  # the participant's and the slot's
    participant_id: Mapped[str] = mapped_column(String(64), index=True)
    slot_id: Mapped[str] = mapped_column(String(64), index=True)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    end_reason: Mapped[EndReason | None] = mapped_column(
        Enum(EndReason, name="end_reason", native_enum=False, length=32), nullable=True
    )
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plans.id"), nullable=True)
    # Rules the placement breaks since its slot was changed under it with `force` (read-only here; `fit` writes them).
    warnings: Mapped[list[PlacementWarning]] = relationship(
        lazy="selectin", order_by="PlacementWarning.id", viewonly=True
    )
    __table_args__ = (
        # At most one active placement per person, enforced by the database itself.
        Index(
            "uq_placements_active_participant",
            "association_id",
            "participant_id",
            unique=True,
            sqlite_where=text("end_date IS NULL"),
            postgresql_where=text("end_date IS NULL"),
        ),
        ForeignKeyConstraint(
            ["association_id", "participant_id"],
            ["participants.association_id", "participants.id"],
            name="fk_placements_participant_id_participants",
        ),
        ForeignKeyConstraint(
            ["association_id", "slot_id"], ["slots.association_id", "slots.id"], name="fk_placements_slot_id_slots"
        ),
    )


class CapacityChange(Base):
    """Who changed which field of a slot or of a site, when, from what to what. Exactly one of slot_id, site_id."""

    __tablename__ = "capacity_history"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    association_id: Mapped[str] = mapped_column(String(64))  # the slot's or the site's
    slot_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    site_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    field: Mapped[str] = mapped_column(String(64))
    old_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    new_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    __table_args__ = (
        CheckConstraint("(slot_id IS NULL) <> (site_id IS NULL)", name="one_target"),
        ForeignKeyConstraint(
            ["association_id", "slot_id"],
            ["slots.association_id", "slots.id"],
            name="fk_capacity_history_slot_id_slots",
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["association_id", "site_id"],
            ["sites.association_id", "sites.id"],
            name="fk_capacity_history_site_id_sites",
            ondelete="CASCADE",
        ),
    )


class ScheduledCapacityChange(Base):
    """A capacity change that holds from `effective_from` on: a dated version of a slot (seats, hours, days,
    availability) or of a site (supervisor hours). Exactly one of slot_id, site_id. The row itself is never applied:
    the capacity in force on a date is computed (today's values with the changes effective by then, in date order),
    so nothing is rewritten when the date arrives. `base_version` is the slot's or site's version the author saw."""

    __tablename__ = "scheduled_capacity_changes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    association_id: Mapped[str] = mapped_column(String(64))  # the slot's or the site's
    slot_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    site_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    effective_from: Mapped[date] = mapped_column(Date)
    fields: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    base_version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    __table_args__ = (
        CheckConstraint("(slot_id IS NULL) <> (site_id IS NULL)", name="one_target"),
        ForeignKeyConstraint(
            ["association_id", "slot_id"],
            ["slots.association_id", "slots.id"],
            name="fk_scheduled_capacity_changes_slot_id_slots",
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["association_id", "site_id"],
            ["sites.association_id", "sites.id"],
            name="fk_scheduled_capacity_changes_site_id_sites",
            ondelete="CASCADE",
        ),
    )


class Plan(Base):
    __tablename__ = "plans"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    association_id: Mapped[str] = mapped_column(ForeignKey("associations.id"), index=True)
    status: Mapped[PlanStatus] = mapped_column(Enum(PlanStatus, name="plan_status", native_enum=False, length=16))
    plan_date: Mapped[date] = mapped_column(Date)
    time_limit_s: Mapped[float] = mapped_column(Float)
    # Stop on work, not on the clock (matcher.SolverSettings.work_limit): the same data then gives the same plan.
    work_limit: Mapped[float | None] = mapped_column(Float, nullable=True)
    # False: every active placement is kept (pinned for the solve); True: the plan may move people or take them out.
    allow_moves: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    weights: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # The fairness floor the plan keeps (matcher.SolverSettings.fairness_floor); null = none.
    fairness_floor: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    progress: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Who solves it: the worker that took the plan writes a new lease and its name; only the holder of the lease
    # writes the progress and the final status, and only while the plan is under way (see plans.repository).
    lease: Mapped[str | None] = mapped_column(String(36), nullable=True)
    owner: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # While the core solves: by when it must have returned (its time limit + a grace); the service stops it after.
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class AuditEntry(Base):
    """One request that read or changed participant data: who (name and role as they were then), what, where."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True, index=True)
    user_name: Mapped[str | None] = mapped_column(String(120), nullable=True)
    user_role: Mapped[str | None] = mapped_column(String(32), nullable=True)
    action: Mapped[str] = mapped_column(String(16))  # read, create, update, delete, import, erase, denied
    method: Mapped[str | None] = mapped_column(String(8), nullable=True)  # unknown for entries older than 0002
    path: Mapped[str] = mapped_column(String(200))
    # The answer's status, kept for denied attempts (403/404 on a participant route); None for entries before 0008.
    status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    participants: Mapped[list[AuditParticipant]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="AuditParticipant.participant_id"
    )


class AuditParticipant(Base):
    """A participant an audited request touched. No foreign key: the trail outlives a deleted participant."""

    __tablename__ = "audit_participants"
    audit_id: Mapped[int] = mapped_column(ForeignKey("audit_log.id", ondelete="CASCADE"), primary_key=True)
    participant_id: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)


class PlacementWarning(Base):
    """A rule an active placement breaks because its slot changed under it, accepted with `force` (PATCH /slots,
    an import, or a scheduled change, which holds from `effective_from`). Shown to the coordinator until the
    placement ends or the slot fits again; a scheduled change's warnings go with the change when it is deleted."""

    __tablename__ = "placement_warnings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    placement_id: Mapped[int] = mapped_column(ForeignKey("placements.id", ondelete="CASCADE"), index=True)
    slot_id: Mapped[str] = mapped_column(String(64))
    rule: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16))  # slot_change, import, scheduled
    scheduled_change_id: Mapped[int | None] = mapped_column(
        ForeignKey("scheduled_capacity_changes.id", ondelete="CASCADE"), nullable=True, index=True
    )
    effective_from: Mapped[date | None] = mapped_column(Date, nullable=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Erasure(Base):
    """One erased participant: the pseudonym that replaced their id everywhere, when, by whom and why. The erased
    id itself is kept nowhere (that is the point); a pseudonym is unique, so each erasure has its own."""

    __tablename__ = "erasures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    association_id: Mapped[str] = mapped_column(ForeignKey("associations.id"), index=True)
    pseudonym: Mapped[str] = mapped_column(String(64), unique=True)
    reason: Mapped[str] = mapped_column(String(16))  # request (a data subject's) or retention (placement gallra)
    erased_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    erased_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class DataVersion(Base):
    """How often the data the core sees has changed, per association: the key of the compiled instance kept for
    suggestions (`service/db/data_version.py` moves it in every flush that changes such rows, in that flush's
    transaction, so every server process sees a write by the version it moved). `catalogue` moves with
    participants, travel times, enterprises, sites, slots and scheduled changes; `occupancy` with placements
    (seats taken), which change more often and are cheap to reapply. No foreign key: the row may be written in the
    same flush as a new association, before it."""

    __tablename__ = "data_versions"
    association_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    catalogue: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    occupancy: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))


class IdempotencyKey(Base):
    """A POST sent with an `Idempotency-Key`: the request it named and the first answer, replayed to a retry.

    The primary key is (user, key): a key is the caller's own. The row is added in the transaction that creates the
    resource, so a retry arriving meanwhile waits on it (the unique key), and the answer is written once the response
    is known, before it is sent. `status` None: the first request is still being answered.
    """

    __tablename__ = "idempotency_keys"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))  # sha256 of the method, path, query and body
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    headers: Mapped[dict[str, str] | None] = mapped_column(JSON, nullable=True)
    body: Mapped[str | None] = mapped_column(Text, nullable=True)


# Join conditions over the composite keys, for queries that join explicitly (a join on the id alone would match
# another association's row of the same id).
def placement_participant() -> ColumnElement[bool]:
    return and_(Participant.association_id == Placement.association_id, Participant.id == Placement.participant_id)


def placement_slot() -> ColumnElement[bool]:
    return and_(Slot.association_id == Placement.association_id, Slot.id == Placement.slot_id)


def slot_site() -> ColumnElement[bool]:
    return and_(Site.association_id == Slot.association_id, Site.id == Slot.site_id)


def site_enterprise() -> ColumnElement[bool]:
    return and_(Enterprise.association_id == Site.association_id, Enterprise.id == Site.enterprise_id)
