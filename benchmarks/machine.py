"""What every RESULTS file says about where it was measured: the processor, the memory, and which code ran."""

from __future__ import annotations

import contextlib
import platform
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _first_line(path: str, prefix: str) -> str | None:
    with contextlib.suppress(OSError):
        for line in Path(path).read_text().splitlines():
            if line.startswith(prefix):
                return line
    return None


def cpu_name() -> str:
    """The processor's model name from /proc/cpuinfo (what `platform` says elsewhere)."""
    line = _first_line("/proc/cpuinfo", "model name")
    return line.split(":", 1)[1].strip() if line else (platform.processor() or "unknown")


def memory_gb() -> str:
    """Total memory, as "23.5 GB"; empty when /proc/meminfo cannot be read."""
    line = _first_line("/proc/meminfo", "MemTotal")
    return f"{int(line.split()[1]) / 1024 / 1024:.1f} GB" if line else ""


def git_state(paths: list[str]) -> tuple[str, bool | None]:
    """The checked-out commit (short; "" when git cannot tell) and whether `paths` have uncommitted changes (None
    when git cannot tell): read only, to say which code was measured."""
    commit, dirty = "", None
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=HERE.parent, capture_output=True, text=True, timeout=10
        ).stdout.strip()
        changes = subprocess.run(
            ["git", "status", "--porcelain", "--", *paths],
            cwd=HERE.parent, capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()  # fmt: skip
        dirty = bool(changes)
    return commit, dirty
