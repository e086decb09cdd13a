"""Attacks on the service that measure its reliability figures (docs/reliability.md).

Each module `attacks/<name>.py` with `run(results: Path) -> None` does one measurement, bounded to a few minutes,
starting what it needs (a database, a server), and writes its section to `results / "<name>.md"`. Modules whose
name starts with `_` are helpers. `python -m attacks [names…]` runs them and assembles docs/reliability.md.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"
