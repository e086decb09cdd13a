"""Item 3 of issue 14: the hostile inputs of the attack, sent to a real server, with its status, time and memory.

Each case starts a fresh `uvicorn` (the app of `make run`, SQLite in a temporary folder, the sample region and its
demo users), warms it up with a small valid import (so that pandas and openpyxl are loaded, and the import's worker
process is started), reads its resident size as idle (the server's and its worker processes' `VmRSS` together, as
every sample), then sends the case while a thread samples `VmRSS` in /proc every 10 ms: "peak above idle" is the
highest sample minus the idle size. Bodies marked "streamed" are sent chunked, without a Content-Length, from a
generator (the client holds one chunk), and sending stops as soon as the server answers.

    python -m attacks limits      (or `make attack`, which runs every module of attacks/)
"""

from __future__ import annotations

import contextlib
import http.client
import io
import json
import os
import re
import select
import socket
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MB = 1024 * 1024
TARGET_MB = 300
BOUNDARY = "attackboundary7MA4YWxkTrZu0gW"


@dataclass
class Outcome:
    case: str
    sent: str
    status: int
    detail: str
    seconds: float
    peak_mb: float


# --- the server ----------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_kb(pid: int) -> int:
    """VmRSS of the process and of every process under it (imports run in the server's worker process)."""
    total = 0
    for each in _tree(pid):
        try:
            with open(f"/proc/{each}/status", encoding="ascii") as status:
                total += next((int(line.split()[1]) for line in status if line.startswith("VmRSS:")), 0)
        except OSError:  # a worker that ended meanwhile
            if each == pid:
                raise
    return total


def _tree(pid: int) -> list[int]:
    found, queue = [], [pid]
    while queue:
        each = queue.pop()
        found.append(each)
        try:
            tasks = os.listdir(f"/proc/{each}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{each}/task/{task}/children", encoding="ascii") as children:
                    queue += [int(child) for child in children.read().split()]
            except OSError:
                continue
    return found


class Server:
    """`uvicorn service.app:create_app --factory` on a free port, over the prepared database."""

    def __init__(self, env: dict[str, str]) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "service.app:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
            ],  # fmt: skip
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if self.request("GET", "/api/v1/health")[0] == 200:
                    return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("the server did not start")

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class PeakSampler:
    """The highest VmRSS of a process while the block runs, sampled every 10 ms."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, rss_kb(self.pid))
            except OSError:
                return
            time.sleep(0.01)

    def __enter__(self) -> PeakSampler:
        self.peak = rss_kb(self.pid)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        time.sleep(0.05)
        self._stop.set()
        self._thread.join()


# --- the requests --------------------------------------------------------------------------------------------------


def multipart(name: str, content: bytes) -> bytes:
    return part_head(name) + content + part_tail()


def part_head(name: str) -> bytes:
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()


def part_tail() -> bytes:
    return f"\r\n--{BOUNDARY}--\r\n".encode()


MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"


def stream(
    port: int, path: str, headers: dict[str, str], chunks: Iterator[bytes], declared: int | None = None
) -> tuple[int, bytes, int]:
    """Send a body chunk by chunk (chunked, or with a declared Content-Length), stop when the server answers;
    (status, body, bytes sent)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=120)
    head = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    head += [f"{k}: {v}" for k, v in headers.items()]
    head.append(f"Content-Length: {declared}" if declared is not None else "Transfer-Encoding: chunked")
    sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
    sent = 0
    finished = True
    for chunk in chunks:
        if select.select([sock], [], [], 0)[0]:
            finished = False
            break  # the server answered before the body ended
        try:
            sock.sendall(chunk if declared is not None else b"%x\r\n%s\r\n" % (len(chunk), chunk))
        except (BrokenPipeError, ConnectionResetError):
            finished = False
            break
        sent += len(chunk)
    if finished and declared is None:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(b"0\r\n\r\n")
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except (ConnectionResetError, TimeoutError):
        pass
    sock.close()
    match = re.match(rb"HTTP/1\.1 (\d{3})", data)
    status = int(match.group(1)) if match else 0
    return status, data.partition(b"\r\n\r\n")[2], sent


def repeat(total: int, piece: bytes, size: int = MB) -> Iterator[bytes]:
    block = piece * (size // len(piece))
    left = total
    while left > 0:
        yield block[:left]
        left -= len(block)


def slots_body_chunks() -> Iterator[bytes]:
    """`POST /slots` of 500 MB: a list of 50 items of 10 MB each (the issue's body)."""
    yield b'{"id": "huge", "site_id": "x", "activity": "bakery", "seats": 1, "min_hours": 5, "max_hours": 20, '
    yield b'"days": ["mon"], "supports": ['
    for i in range(50):
        yield b'"'
        yield from repeat(10 * MB, b"a")
        yield b'"' + (b"," if i < 49 else b"")
    yield b"]}"


def wide_header() -> bytes:
    return (",".join(f"c{i}" for i in range(200_000)) + "\n").encode()


def million_rows() -> bytes:
    return b"participant_id,site_id,minutes\n" + b"a,b,1\n" * 1_000_000


def declared_dimension(book: bytes) -> bytes:
    """The workbook with every sheet's dimension rewritten to `A1:XFD1048576` (the cells are as they were)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(book)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for member in source.infolist():
            data = source.read(member)
            if member.filename.startswith("xl/worksheets/sheet"):
                data, n = re.subn(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:XFD1048576"', data)
                if n == 0:
                    data = data.replace(b"<sheetData", b'<dimension ref="A1:XFD1048576"/><sheetData', 1)
            target.writestr(member, data)
    return out.getvalue()


# --- the attack ----------------------------------------------------------------------------------------------------


def prepare(folder: Path) -> tuple[dict[str, str], str, bytes]:
    """A migrated database with the sample region and demo users; (server env, coordinator token, its xlsx export)."""
    env = {
        **os.environ,
        "PLACEMENT_DATABASE_URL": f"sqlite:///{folder / 'attack.db'}",
        "PLACEMENT_DEMO_TOKENS_FILE": str(folder / "tokens.txt"),
        "PLACEMENT_SAMPLE_DATA": str(ROOT / "data" / "sample"),
        "PLACEMENT_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    code = (
        "from service.settings import ServiceSettings;"
        "from service.bootstrap import prepare_database, load_sample_if_empty, create_demo_users;"
        "from service.db.engine import make_engine, make_session_factory;"
        "s = ServiceSettings(); prepare_database(s); f = make_session_factory(make_engine(s.database_url));"
        "load_sample_if_empty(f, s); create_demo_users(f, s)"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True)
    token = next(
        line.split("\t")[2]
        for line in (folder / "tokens.txt").read_text(encoding="utf-8").splitlines()
        if line.startswith("demo-coordinator")
    )
    server = Server(env)
    try:
        status, book = server.request(
            "GET", "/api/v1/exports?format=xlsx", headers={"Authorization": f"Bearer {token}"}
        )
        assert status == 200, book[:300]
    finally:
        server.stop()
    return env, token, book


def run_case(env: dict[str, str], token: str, case: str, sent: str, send) -> Outcome:  # type: ignore[no-untyped-def]
    server = Server(env)
    auth = {"Authorization": f"Bearer {token}"}
    try:
        warm = multipart("slots.csv", b"slot_id,site_id,activity,seats,min_hours,max_hours,days\n")
        server.request("POST", "/api/v1/imports", warm, {**auth, "Content-Type": MULTIPART})
        time.sleep(0.3)
        idle = rss_kb(server.process.pid)
        started = time.perf_counter()
        with PeakSampler(server.process.pid) as sampler:
            status, body, streamed = send(server, auth)
        seconds = time.perf_counter() - started
        alive = server.request("GET", "/api/v1/health")[0]
    finally:
        server.stop()
    try:
        answer = json.loads(body)
        detail = str(answer.get("detail", ""))
        if answer.get("problems"):
            p = answer["problems"][0]
            detail = f"{p['file']}:{p['row']}:{p['column']}: {p['message']}"
    except (ValueError, AttributeError):
        detail = body[:120].decode("utf-8", "replace")
    if 200 <= status < 300:
        detail = "a dry-run import report: the cells the sheets hold, read within the limits"
    detail += "" if alive == 200 else f" (health afterwards: {alive})"
    if streamed is not None:
        sent += f" ({streamed / MB:.1f} MB sent before the answer)"
    return Outcome(case, sent, status, detail, seconds, (sampler.peak - idle) / 1024)


def cases(book: bytes) -> list[tuple[str, str, object]]:
    hostile_book = declared_dimension(book)
    slots_json = {"Content-Type": "application/json"}

    def streamed_json(server: Server, auth: dict[str, str]) -> tuple[int, bytes, int | None]:
        return stream(server.port, "/api/v1/slots", {**auth, **slots_json}, slots_body_chunks())

    def declared_json(server: Server, auth: dict[str, str]) -> tuple[int, bytes, int | None]:
        return stream(
            server.port, "/api/v1/slots", {**auth, **slots_json}, slots_body_chunks(), declared=500 * MB + 200
        )

    def upload(name: str, content: bytes):  # type: ignore[no-untyped-def]
        def send(server: Server, auth: dict[str, str]) -> tuple[int, bytes, int | None]:
            status, body = server.request(
                "POST", "/api/v1/imports", multipart(name, content), {**auth, "Content-Type": MULTIPART}
            )
            return status, body, None

        return send

    def giant_cell(server: Server, auth: dict[str, str]) -> tuple[int, bytes, int | None]:
        def chunks() -> Iterator[bytes]:
            yield part_head("slots.csv") + b"slot_id,site_id,activity\nx,y,"
            yield from repeat(10**9, b"a")
            yield b"\n" + part_tail()

        return stream(server.port, "/api/v1/imports", {**auth, "Content-Type": MULTIPART}, chunks())

    header, rows = wide_header(), million_rows()
    at_limit = b"participant_id,site_id,minutes\n" + b"".join(b"p%d,s1,5\n" % i for i in range(100_000))
    return [
        ("POST /slots, 50 list items of 10 MB, streamed", "500 MB, chunked", streamed_json),
        ("POST /slots, the same with its Content-Length", "500 MB declared", declared_json),
        ("import: a CSV header of 200,000 columns", f"{len(header) / MB:.1f} MB", upload("slots.csv", header)),
        (
            "import: an xlsx declaring `A1:XFD1048576`",
            f"{len(hostile_book) / 1024:.0f} KB",
            upload("region.xlsx", hostile_book),
        ),
        ("import: one cell of 10^9 characters, streamed", "10^9 bytes, chunked", giant_cell),
        ("import: 1,000,000 rows", f"{len(rows) / MB:.1f} MB", upload("travel_times.csv", rows)),
        (
            "import: 100,000 rows (at the limit), each refused",
            f"{len(at_limit) / MB:.1f} MB",
            upload("travel_times.csv", at_limit),
        ),
    ]


def run(results: Path) -> None:
    results.mkdir(parents=True, exist_ok=True)
    from service.settings import ServiceSettings

    settings = ServiceSettings()
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="attack-limits-") as tmp:
        env, token, book = prepare(Path(tmp))
        for case, sent, send in cases(book):
            outcome = run_case(env, token, case, sent, send)
            outcomes.append(outcome)
            print(
                f"{outcome.case}: {outcome.status} in {outcome.seconds:.2f} s, +{outcome.peak_mb:.0f} MB",
                file=sys.stderr,
            )
    worst = max(o.peak_mb for o in outcomes)
    lines = [
        "## Limits on request bodies and imports (issue 14, item 3)",
        "",
        "Each hostile input of the attack sent to a fresh `uvicorn` of the app (SQLite, the sample region), with the "
        "answer, the time to it, and the server's peak resident memory above its idle size (VmRSS sampled every "
        "10 ms). Limits as configured by default: body "
        f"{settings.max_body_bytes / MB:g} MB, upload {settings.max_upload_bytes / MB:g} MB, "
        f"{settings.max_import_rows:,} rows a table, {settings.max_import_columns} columns, "
        f"{settings.max_import_cell_chars:,} characters a cell, a workbook {settings.max_workbook_bytes / MB:g} MB "
        "unzipped (docs/service.md, Limits).",
        "",
        "| case | sent | status | answer | time | peak above idle |",
        "|---|---|---|---|---|---|",
    ]
    for o in outcomes:
        answer = o.detail.replace("|", "\\|")[:110]
        lines.append(f"| {o.case} | {o.sent} | {o.status} | {answer} | {o.seconds:.2f} s | {o.peak_mb:.0f} MB |")
    verdict = "met" if worst <= TARGET_MB else "NOT met"
    lines += [
        "",
        f"Highest peak above idle: {worst:.0f} MB (target: under {TARGET_MB} MB, {verdict}). Before the limits, the "
        "issue reports 3.7 GB, over 3 GB, over 3 GB (13 s), 2.2 GB and 1.8 GB (305 s) for the first five kinds.",
        "",
        "Command: `python -m attacks limits` (part of `make attack`).",
        "",
    ]
    (results / "limits.md").write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    # `python -m attacks.limits [folder]` alone; `python -m attacks limits` assembles docs/reliability.md.
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.gettempdir()) / "attacks"
    run(folder)
    print((folder / "limits.md").read_text(encoding="utf-8"))
