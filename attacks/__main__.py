"""`python -m attacks [names…] [--skip name…]`: run the attacks (all, or the named ones) and assemble
docs/reliability.md from every section in attacks/results (the ones not run this time are kept from their last run).

`make attack` runs every attack but `load`; `make load` runs `load` (two minutes of 50 users).
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import signal
import sqlite3
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from attacks import RESULTS, ROOT

# The sections' order in docs/reliability.md; attacks not named here follow in alphabetical order.
ORDER = ("fuzz", "matrix", "races", "limits", "health", "pool", "load")
DOC = ROOT / "docs" / "reliability.md"
INTRO = ROOT / "attacks" / "INTRO.md"

Attack = Callable[[Path], None]


def discover() -> dict[str, Attack]:
    """Every module `attacks/<name>.py` (not `_helpers`) with a `run(results)` function, by name."""
    found: dict[str, Attack] = {}
    for path in sorted(Path(__file__).parent.glob("*.py")):
        name = path.stem
        if name.startswith("_"):
            continue
        module = importlib.import_module(f"attacks.{name}")
        run = getattr(module, "run", None)
        if callable(run):
            found[name] = run
    return found


def ordered(names: list[str]) -> list[str]:
    return sorted(names, key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n))


def commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
        # The run's own outputs (the results and the assembled doc) are not changes to what was measured.
        outputs = [f":(exclude){path.relative_to(ROOT)}" for path in (RESULTS, DOC) if path.is_relative_to(ROOT)]
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", ".", *outputs], cwd=ROOT, capture_output=True
        )
        return head.stdout.strip() + (" (with uncommitted changes)" if dirty.stdout.strip() else "")
    except OSError:
        return "unknown"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kb / 1024 / 1024:.1f} GB memory"
    except (OSError, ValueError, IndexError):
        pass
    load = f"{_load()} when assembled"
    return (
        f"{os.cpu_count()} CPUs ({cpu}){memory}, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}{load}"
    )


def stamp(name: str, section: Path, seconds: float) -> None:
    """End the section with where and when it was measured."""
    text = section.read_text(encoding="utf-8").rstrip()
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    text += (
        f"\n\n*Measured by `python -m attacks {name}` in {seconds:.0f} s, at commit {commit()}, {when}, "
        f"on {os.cpu_count()} CPUs{_load()}.*\n"
    )
    section.write_text(text, encoding="utf-8")


def _load() -> str:
    return f", load average {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else ""


def assemble() -> Path:
    sections = ordered([p.stem for p in RESULTS.glob("*.md")])
    intro = INTRO.read_text(encoding="utf-8").rstrip() if INTRO.exists() else "# Reliability"
    parts = [
        "<!-- Written by `python -m attacks` (attacks/__main__.py) from attacks/INTRO.md and attacks/results/*.md; "
        "edit those, not this file. -->",
        intro,
        f"Assembled at commit {commit()}, {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}; machine: {machine()}.",
    ]
    parts += [(RESULTS / f"{name}.md").read_text(encoding="utf-8").rstrip() for name in sections]
    DOC.write_text("\n\n".join(parts) + "\n", encoding="utf-8")
    return DOC


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m attacks", description=__doc__)
    parser.add_argument("names", nargs="*", help="attacks to run (default: all)")
    parser.add_argument("--skip", nargs="*", default=[], help="attacks not to run")
    parser.add_argument("--list", action="store_true", help="list the attacks and exit")
    args = parser.parse_args(argv)
    # SIGTERM ends the run as an exception would: each attack's `finally` stops the server it started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    attacks = discover()
    if args.list:
        print("\n".join(ordered(list(attacks))))
        return 0
    unknown = [n for n in [*args.names, *args.skip] if n not in attacks]
    if unknown:
        parser.error(f"no attack {', '.join(unknown)}; there are {', '.join(ordered(list(attacks)))}")
    chosen = ordered([n for n in (args.names or list(attacks)) if n not in args.skip])
    RESULTS.mkdir(exist_ok=True)
    failed: list[str] = []
    for name in chosen:
        print(f"== {name}", flush=True)
        started = time.monotonic()
        section = RESULTS / f"{name}.md"
        try:
            attacks[name](RESULTS)
        except Exception:  # one broken attack must not lose the others' figures
            failed.append(name)
            traceback.print_exc()
            section.write_text(
                f"## {name}\n\n**The attack failed to run**; `python -m attacks {name}` printed:\n\n```\n"
                f"{traceback.format_exc(limit=5)}```\n",
                encoding="utf-8",
            )
        if not section.exists():
            failed.append(name)
            section.write_text(f"## {name}\n\n**The attack wrote no section.**\n", encoding="utf-8")
        stamp(name, section, time.monotonic() - started)
        print(f"   {section} ({time.monotonic() - started:.0f} s)", flush=True)
    print(f"wrote {assemble()}")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
