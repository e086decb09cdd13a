"""Capacity value on data/sample with one process and with a pool (`matcher.capacity_value(workers=…)`): how many
of the rows the re-solves finish within the time budget, and the wall time. Writes docs/RESULTS-capacity-value.md.

    python -m benchmarks.capacity_value_workers [--time-limit 60]

The machine's load average is written beside the figures: on a shared machine it decides them.
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import date
from pathlib import Path

import matcher

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "RESULTS-capacity-value.md"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--time-limit", type=float, default=60.0)
    args = parser.parse_args()
    instance = matcher.load_dataset(ROOT / "data" / "sample")
    on = date(2026, 11, 23)
    lines = [
        "## Capacity value: one process or a pool",
        "",
        f"`python -m benchmarks.capacity_value_workers --time-limit {args.time_limit:g}` on data/sample, "
        f"{on.isoformat()}; {os.cpu_count()} cores.",
        "",
        "| workers | wall s | rows re-solved | rows LP bound | load average (1 min) before |",
        "|---|---|---|---|---|",
    ]
    rows = {}
    for workers in (1, max(os.cpu_count() or 1, 2)):
        load = os.getloadavg()[0]
        started = time.perf_counter()
        report = matcher.capacity_value(instance, on, time_limit_s=args.time_limit, workers=workers)
        seconds = time.perf_counter() - started
        solved = sum(r.method == "re-solve" for r in report.rows)
        rows[workers] = report.rows
        lines.append(f"| {workers} | {seconds:.1f} | {solved} | {len(report.rows) - solved} | {load:.1f} |")
        print(lines[-1], flush=True)
    lines.append("")
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"written to {OUT}")


if __name__ == "__main__":
    main()
