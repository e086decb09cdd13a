"""The report of an import: what was (or, in a dry run, would be) created, changed and refused, per table."""

from __future__ import annotations

import matcher
from service.imports.diffing import TABLE_KINDS, ImportDiff
from service.imports.reading import problem_public
from service.imports.schemas import (
    ChangedRecord,
    CreatedRecord,
    ImportReport,
    ImportSummary,
    ProblemPublic,
    TableReport,
)


def not_in_upload(diff: ImportDiff) -> dict[str, int]:
    inst, base = diff.upload.instance, diff.base
    pairs = (
        ("enterprises", {e.enterprise_id for e in base.enterprises} - {e.enterprise_id for e in inst.enterprises}),
        ("sites", {t.site_id for t in base.sites} - {t.site_id for t in inst.sites}),
        ("slots", {s.slot_id for s in base.slots} - {s.slot_id for s in inst.slots}),
        (
            "participants",
            {p.participant_id for p in base.participants} - {p.participant_id for p in inst.participants},
        ),
        (
            "travel_times",
            {(t.participant_id, t.site_id) for t in base.travel_times}
            - {(t.participant_id, t.site_id) for t in inst.travel_times},
        ),
    )
    return {name: len(keys) for name, keys in pairs}


def import_report(diff: ImportDiff, applied: bool, warnings: list[matcher.Problem]) -> ImportReport:
    """What the import created, changed and refused (written or, in a dry run, would), with warnings."""
    created: list[CreatedRecord] = []
    changed: list[ChangedRecord] = []
    for kind, ops in diff.ops.items():
        for op in ops:
            shown = "/".join(op.key) if isinstance(op.key, tuple) else str(op.key)
            if op.existing is None:
                created.append(CreatedRecord(kind=kind, id=shown))
            else:
                changed.append(ChangedRecord(kind=kind, id=shown, changes=op.changes))
    for pid, slot_id, start in diff.placements:
        created.append(
            CreatedRecord(
                kind="placement", id=pid, detail=f"active placement in slot '{slot_id}' from {start.isoformat()}"
            )
        )
    return ImportReport(
        applied=applied,
        format=diff.upload.format,
        files=diff.upload.files,
        summary=ImportSummary(
            created=len(created),
            changed=len(changed),
            unchanged=sum(len(keys) for keys in diff.unchanged.values()),
            refused=len(diff.refused),
        ),
        created=created,
        changed=changed,
        refused=diff.refused,
        warnings=[ProblemPublic.model_validate(problem_public(w)) for w in warnings],
        conflicts=diff.conflicts,
        exported_at=diff.exported_at,
        partial=diff.upload.partial,
        tables=_tables(diff),
        not_in_upload=not_in_upload(diff),
    )


def _tables(diff: ImportDiff) -> list[TableReport]:
    left = not_in_upload(diff)
    out: list[TableReport] = []
    for table, kind in TABLE_KINDS.items():
        ops = diff.ops[kind]
        counts = {
            "created": sum(op.existing is None for op in ops),
            "changed": sum(op.existing is not None for op in ops),
            "unchanged": len(diff.unchanged[kind]),
            "refused": sum(r.kind == kind for r in diff.refused),
        }
        if table in diff.upload.tables:
            note = ", ".join(f"{n} {what}" for what, n in counts.items())
            if left[table]:
                note += f"; {left[table]} not in the file, left as they are"
        else:
            note = "not in the upload, left as they are"
        out.append(
            TableReport(
                table=table,
                in_upload=table in diff.upload.tables,
                left_as_they_are=left[table],
                note=note,
                **counts,
            )
        )
    return out
