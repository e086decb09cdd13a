"""Reading an upload: the files sorted and named, read as the command line reads them, into the upload's instance.

An upload is saved to a temporary folder and read by `matcher.read_dataset`, the function the command line uses, so
every problem is named `file:row:column` exactly as there; the set is then checked by `matcher.prepare`. An upload
of only some tables is read over the association's data (`matcher.io.partial`): the tables it lacks are left as they
are and its references are checked against the database. Nothing here touches the database.
"""

from __future__ import annotations

import re
import tempfile
import zipfile
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matcher
from matcher import TABLE_NAMES
from service.errors import InvalidInput, ServiceError
from service.imports.schemas import ProblemPublic
from service.imports.stamp import EXPORT_FILE, Stamp, read_stamp

MAX_UPLOAD_FILES = 10
CSV_FILES = tuple(f"{name}.csv" for name in TABLE_NAMES)


class ContentTooLarge(ServiceError):
    status, title = 413, "Content too large"


@dataclass(frozen=True)
class UploadedFile:
    name: str
    content: bytes


# --- the upload --------------------------------------------------------------------------------------------------


def sort_files(files: Sequence[UploadedFile]) -> tuple[str, list[UploadedFile]]:
    """("csv" | "xlsx", the files under the names the reader expects), or 422 naming the file that does not fit."""
    expected = ", ".join(CSV_FILES)
    if not files:
        raise InvalidInput(
            f"no file was uploaded: send the CSV files of the tables to update ({expected}) or one .xlsx workbook"
        )
    csvs: list[UploadedFile] = []
    books: list[UploadedFile] = []
    for upload in files:
        name = Path(upload.name.replace("\\", "/")).name.strip()
        lower = name.lower()
        if not name:
            raise InvalidInput(
                "a file was uploaded without a file name; name it after its table, e.g. slots.csv", file=""
            )
        if lower in CSV_FILES or lower == EXPORT_FILE:
            csvs.append(UploadedFile(lower, upload.content))
        elif lower.endswith(".xlsx"):
            books.append(UploadedFile(_safe_name(name), upload.content))
        elif lower.endswith(".csv"):
            raise InvalidInput(f"'{name}' is not a file of the data set; the CSV files are {expected}", file=name)
        else:
            raise InvalidInput(f"'{name}' is neither a CSV file of the data set nor an .xlsx workbook", file=name)
    if books and csvs:
        raise InvalidInput(
            f"send either CSV files or one .xlsx workbook, not both ('{csvs[0].name}' and '{books[0].name}')",
            file=books[0].name,
        )
    if len(books) > 1:
        raise InvalidInput(
            f"send one .xlsx workbook, not {len(books)} ('{books[1].name}' is one too many)", file=books[1].name
        )
    twice = [name for name, n in Counter(f.name for f in csvs).items() if n > 1]
    if twice:
        raise InvalidInput(f"'{twice[0]}' was uploaded more than once", file=twice[0])
    return ("xlsx", books) if books else ("csv", csvs)


def _safe_name(name: str) -> str:
    """A workbook's name as problems will call it (`book.xlsx[slots]`), safe as a file name in the temporary folder."""
    stem = re.sub(r"[^\w.\- ]", "_", name[: -len(".xlsx")]).strip(" .") or "upload"
    return f"{stem}.xlsx"


def problem_public(problem: matcher.Problem) -> dict[str, Any]:
    return ProblemPublic(
        file=problem.file, row=problem.row, column=problem.column, message=problem.message
    ).model_dump()


def invalid_dataset(
    problems: Sequence[matcher.Problem], warnings: Sequence[matcher.Problem], what: str
) -> InvalidInput:
    head = "; ".join(str(p) for p in problems[:3])
    more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
    return InvalidInput(
        f"{what}: {len(problems)} problem(s), nothing was written: {head}{more}",
        problems=[problem_public(p) for p in problems],
        warnings=[problem_public(w) for w in warnings],
    )


@dataclass(frozen=True)
class UploadedSet:
    format: str
    files: list[str]
    instance: matcher.Instance  # only the upload's records
    warnings: list[matcher.Problem]
    where: matcher.Locator  # the upload's records in its files
    tables: frozenset[str]  # the tables the upload holds
    partial: bool  # some required table is missing: the others are the association's, left as they are
    stamp: Stamp | None = None  # when the upload was exported by the service, if it says so


def _read(path: Path, base: Callable[[], matcher.Instance], limits: matcher.ReadLimits) -> matcher.Update:
    """The upload read once: a whole set alone, some tables over the database's (`base()`), checked for planning."""
    update = matcher.read_update(path, base, limits)
    matcher.prepare(update.complete)  # pinned limits and everything else the engine needs before planning
    return update


def read_upload(
    files: Sequence[UploadedFile], base: Callable[[], matcher.Instance], limits: matcher.ReadLimits | None = None
) -> UploadedSet:
    """Save the upload to a temporary folder and read it as the command line does; 422 with every problem if invalid.

    An upload without some required table is read over `base()` (the association's data, see `matcher.read_update`).
    `limits` (rows, columns, cell length, a workbook's unzipped size): a file over one is a problem, found before the
    file is held whole.
    """
    limits = limits or matcher.ReadLimits()
    kind, files = sort_files(files)
    with tempfile.TemporaryDirectory(prefix="placement-import-") as tmp:
        folder = Path(tmp)
        for upload in files:
            (folder / upload.name).write_bytes(upload.content)
        path = folder if kind == "csv" else folder / files[0].name
        if kind == "xlsx" and not zipfile.is_zipfile(path):
            # An .xlsx is a zip archive; the reader lets zipfile's own error through for anything else.
            problem = matcher.Problem(
                path.name, 0, "", "cannot be opened as an .xlsx workbook: it is not a zip archive"
            )
            raise invalid_dataset([problem], [], "the data set is not valid")
        try:
            update = _read(path, base, limits)
            stamp = read_stamp(path, kind)
        except matcher.InvalidDataset as exc:
            raise invalid_dataset(exc.problems, exc.warnings, "the data set is not valid") from None
        except (zipfile.BadZipFile, EOFError) as exc:  # a damaged workbook
            problem = matcher.Problem(path.name, 0, "", f"cannot be opened as an .xlsx workbook: {exc}")
            raise invalid_dataset([problem], [], "the data set is not valid") from None
    return UploadedSet(
        kind,
        [f.name for f in files],
        update.instance,
        list(update.warnings),
        update.locator,
        update.tables,
        update.partial,
        stamp,
    )
