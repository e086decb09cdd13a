"""Seeded benchmark instances in the data format: `python -m benchmarks.generate region county ...`.

The generator is the project's seeded one (`matcher.generate.synthetic_instance`, next to the sample region that
`placement generate` writes): regions of about 60 x 60 km tiled edge to edge, about two people per seat, and the
scenario's share of sites whose supervision hours would be overrun by a full house. Instances are written once per
(size, scenario, seed) and reused; nothing here is committed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from benchmarks.config import INSTANCES, SCENARIOS, SEED, SIZES, SMOKE_SIZE, Size
from matcher import DEFAULT_PLAN_DATE, synthetic_instance, write_dataset


def instance_dir(size: Size, scenario: str, seed: int = SEED, root: Path = INSTANCES) -> Path:
    return root / f"{size.name}-{scenario}-seed{seed}"


def ensure_instance(size: Size, scenario: str, seed: int = SEED, root: Path = INSTANCES) -> Path:
    """Write the instance unless it is already there (a `meta.json` marks a complete one)."""
    folder = instance_dir(size, scenario, seed, root)
    meta_path = folder / "meta.json"
    if meta_path.exists():
        return folder
    instance = synthetic_instance(size.participants, seed=seed, scenario=scenario, slots=size.slots, sites=size.sites)
    write_dataset(instance, folder)
    meta = {
        "size": size.name,
        "scenario": scenario,
        "seed": seed,
        "plan_date": DEFAULT_PLAN_DATE.isoformat(),
        "participants": len(instance.participants),
        "slots": len(instance.slots),
        "sites": len(instance.sites),
        "seats": sum(s.seats for s in instance.slots),
        "generator": f"matcher.generate.synthetic_instance({size.participants}, seed={seed}, "
        f"scenario={scenario!r}, slots={size.slots}, sites={size.sites})",
    }
    meta_path.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return folder


def main(argv: list[str]) -> int:
    names = argv or ["region", "county"]
    sizes = [SMOKE_SIZE if n == "smoke" else SIZES[n] for n in names]
    for size in sizes:
        for scenario in size.scenarios or SCENARIOS:
            for seed in size.seeds_of(scenario):
                print(ensure_instance(size, scenario, seed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
