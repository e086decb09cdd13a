"""Importing and exporting an association's data set in the exchange format of docs/data-format.md.

An import runs in three steps, each its own module: `reading` turns the upload into the upload's instance (422 with
every problem, named `file:row:column`, when it is not valid), `diffing` compares it record by record with the
association's data (what would be created, changed and refused; the rules of an import are listed there), and
`applying` writes everything not refused in one short write transaction, after comparing again on locked rows (the
first comparison reads without a lock). A dry run stops after the first comparison;
either way `report` says what was (or would be) done. `repository` holds their SQL; `exporting` writes a data set
back out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime

from sqlalchemy.orm import Session, sessionmaker

import matcher
from matcher import DIALECTS, SEMICOLON
from service.audit.log import record
from service.core_bridge import load_instance
from service.db import models as db
from service.db.engine import transaction
from service.imports.applying import apply_diff
from service.imports.diffing import ImportDiff, Overwrite
from service.imports.exporting import Export, dataset_export
from service.imports.reading import UploadedFile, UploadedSet, read_upload
from service.imports.report import import_report
from service.imports.schemas import ImportReport


def run_import(
    factory: sessionmaker[Session],
    user: db.User,
    files: Sequence[UploadedFile],
    apply: bool,
    endpoint: str,
    today: date | None = None,
    overwrite: Overwrite | None = None,
    force: bool = False,
    limits: matcher.ReadLimits | None = None,
    claim: Callable[[Session], None] | None = None,
) -> ImportReport:
    """Read, compare and (when `apply`) write an upload; the report says what was done.

    The long part, reading the upload and comparing it, runs in a read transaction that holds no lock. Applying
    compares it again, in a short write transaction on locked rows (the data may have changed since), and writes it.
    `claim` (an `Idempotency-Key`'s) is made first in that write transaction, or in a write of its own for a dry run.
    """
    day = today or date.today()
    with transaction(factory, write=False) as session:
        upload = read_upload(files, lambda: load_instance(session, user.association_id), limits)
        report = _compare(session, user, upload, day, overwrite, force, apply=False, endpoint=endpoint)
    if not apply and claim is None:
        return report
    with transaction(factory) as session:
        if claim is not None:  # the Idempotency-Key, claimed under the write lock and written with the import
            claim(session)
        if not apply:
            return report
        return _compare(session, user, upload, day, overwrite, force, apply=True, endpoint=endpoint)


def _compare(
    session: Session,
    user: db.User,
    upload: UploadedSet,
    today: date,
    overwrite: Overwrite | None,
    force: bool,
    apply: bool,
    endpoint: str,
) -> ImportReport:
    diff = ImportDiff(session, user, upload, today, overwrite, force)
    diff.plan(lock=apply)
    warnings = upload.warnings + diff.notes + diff.check_merged()
    if apply:
        apply_diff(diff)
    # One audit entry: applied, every participant created, changed or compared; a dry run, every one compared.
    touched = [op.key for op in diff.ops["participant"]] if apply else []
    record(session, user, "import" if apply else "read", [*touched, *diff.read_people], endpoint, "POST")
    return import_report(diff, apply, warnings)


def export_dataset(
    session: Session, association_id: str, fmt: str, today: date | None = None, dialect: str = SEMICOLON.name
) -> Export:
    """The association's data set as a zip of the CSV files (in `dialect`) or as one workbook, with its time."""
    now = datetime.now(UTC)  # before the read: a change committed meanwhile is taken as made after the export
    instance = load_instance(session, association_id)
    return dataset_export(instance, association_id, fmt, today or date.today(), DIALECTS[dialect], now)
