"""How much of a data set the reader takes in before it gives up: files, rows, columns, cells and workbooks.

A hostile or broken file (a header of 200,000 columns, a cell of a billion characters, a workbook that declares
`A1:XFD1048576`) must be refused after reading a bounded part of it, never after holding all of it. Every limit is
checked while the file is read, and a file over a limit is a `Problem` naming the file (and row and column where
there is one), not an exception.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

from matcher.problems import Problem

MB = 1024 * 1024


@dataclass(frozen=True)
class ReadLimits:
    """The largest data set the reader accepts. The defaults are far above any real association's data (the sample
    region is 5,000 participants in under 1 MB) and far below what would exhaust a small server."""

    max_file_bytes: int = 100 * MB
    """one CSV file, as stored"""
    max_rows: int = 200_000
    """data rows of one table (the header not counted)"""
    max_columns: int = 100
    """columns of one header (the widest table has 17)"""
    max_cell_chars: int = 10_000
    """characters of one cell"""
    max_workbook_bytes: int = 200 * MB
    """an .xlsx workbook once unzipped: every member together, as declared and as actually inflated"""
    max_workbook_members: int = 1_000
    """files inside an .xlsx workbook (a real one has a dozen or so)"""

    def __post_init__(self) -> None:
        for name in ("max_file_bytes", "max_rows", "max_columns", "max_cell_chars", "max_workbook_bytes"):
            if getattr(self, name) < 1:
                raise ValueError(f"ReadLimits.{name} must be at least 1")


UNLIMITED = ReadLimits(
    max_file_bytes=2**62,
    max_rows=2**62,
    max_columns=2**62,
    max_cell_chars=2**62,
    max_workbook_bytes=2**62,
    max_workbook_members=2**62,
)
"""For files the reader writes itself (a partial upload completed from the database), never for input."""


def size_text(n: int) -> str:
    return f"{n / MB:g} MB" if n >= MB else f"{n:,} bytes"


def read_bounded(path: Path, limits: ReadLimits) -> tuple[bytes | None, list[Problem]]:
    """The file's bytes, or a problem when it is larger than `max_file_bytes`; never reads more than one byte past
    the limit (a file growing while it is read included)."""
    chunks: list[bytes] = []
    size = 0
    with path.open("rb") as handle:
        while size <= limits.max_file_bytes and (chunk := handle.read(min(MB, limits.max_file_bytes + 1 - size))):
            chunks.append(chunk)
            size += len(chunk)
    data = b"".join(chunks)
    del chunks
    if size > limits.max_file_bytes:
        return None, [Problem(path.name, 0, "", f"the file is larger than {size_text(limits.max_file_bytes)}")]
    return data, []


def check_workbook(path: Path, limits: ReadLimits) -> list[Problem]:
    """Problems that make a workbook too big to open, found before any XML of it is parsed.

    Each member's declared size is summed first; then every member is inflated in chunks and counted, since the
    declared sizes are the sender's word (a zip bomb lies). Nothing inflated is kept.
    """
    budget = limits.max_workbook_bytes
    too_big = Problem(path.name, 0, "", f"the workbook is larger than {size_text(budget)} once unzipped")
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            if len(members) > limits.max_workbook_members:
                message = f"the workbook holds {len(members):,} files; at most {limits.max_workbook_members:,} are read"
                return [Problem(path.name, 0, "", message)]
            if sum(m.file_size for m in members) > budget:
                return [too_big]
            inflated = 0
            for member in members:
                declared, actual = member.file_size, 0
                with archive.open(member) as stream:
                    while chunk := stream.read(256 * 1024):
                        actual += len(chunk)
                        inflated += len(chunk)
                        if inflated > budget:
                            return [too_big]
                        if actual > declared:
                            message = f"'{member.filename}' in the workbook is larger than it declares; damaged"
                            return [Problem(path.name, 0, "", message)]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, OSError, ValueError) as exc:
        return [Problem(path.name, 0, "", f"cannot be opened as an .xlsx workbook: {exc}")]
    return []
