"""RESULTS.md and results.png from one run's results.json (benchmarks/run.py writes both at the end of a run)."""

from __future__ import annotations

import json
import math
import statistics
import sys
from pathlib import Path
from typing import Any

from benchmarks.config import ALL_SCENARIOS, BOUND_METHODS, METHOD_LABELS, SCENARIOS, SEED

COUNTY_GAP, COUNTY_SECONDS, NATION_GAP, NATION_SECONDS, NATION_MB = 0.003, 30.0, 0.005, 120.0, 2048.0
NATION_MILESTONES = (0.01, 0.005)  # the nation rows also say when the plan first came within these of the LP bound
REGION_SPEEDUP = 2.0  # the engine proves the region optimal this many times faster than the fastest peer (median)
Key = tuple[str, str, int]  # size, scenario, seed: one instance


def _key(run: dict[str, Any]) -> Key:
    return run["size"], run["scenario"], int(run.get("seed", SEED))  # results from before seeds: the one seed


def _fmt(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _pct(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{100 * value:.2f} %" if abs(value) >= 5e-5 or value == 0 else f"{100 * value:.3f} %"


def _instance_bounds(payload: dict[str, Any]) -> dict[Key, dict[str, Any]]:
    """Per instance (size, scenario, seed): the best (lowest) bound any method proved, and what follows from it."""
    out: dict[Key, dict[str, Any]] = {}
    for run in payload["runs"]:
        key = _key(run)
        entry = out.setdefault(key, {"bound": None, "by": "", "weight": run.get("weight"), "lp": None})
        if run.get("weight"):
            entry["weight"] = run["weight"]
        bound = run.get("bound")
        if run["method"] == "lp" and bound is not None:
            entry["lp"] = bound
        if (
            bound is not None
            and run["outcome"] in ("ok", "bound only")
            and (entry["bound"] is None or bound < entry["bound"])
        ):
            entry["bound"], entry["by"] = bound, run["method"]
    for entry in out.values():
        w, b = entry["weight"], entry["bound"]
        if w and b is not None:
            placed, score = divmod(b, w)
            entry["placed_bound"] = placed
            # W - 1 is what every plan's score stays below anyway (docs/solver.md): a bound on placements alone.
            entry["score_bound"] = None if score == w - 1 else score
    return out


def _gaps(run: dict[str, Any], bounds: dict[str, Any]) -> tuple[float | None, float | None, float | None]:
    """(placed gap, fit-score gap, objective gap) against the instance's best bound."""
    if run["outcome"] != "ok" or run.get("placed") is None or bounds.get("bound") is None or not bounds.get("weight"):
        return None, None, None
    w, zb = bounds["weight"], bounds["bound"]
    pb, sb = bounds["placed_bound"], bounds["score_bound"]
    placed, score = run["placed"], run["score"]
    z = w * placed + score
    placed_gap = (pb - placed) / pb if pb else 0.0
    score_gap = ((sb - score) / sb if sb else 0.0) if placed == pb and sb is not None else None
    objective_gap = (zb - z) / zb if zb else 0.0
    return placed_gap, score_gap, objective_gap


def _time_to_gap(run: dict[str, Any], bounds: dict[str, Any], gap: float, bound: str = "bound") -> float | None:
    """Seconds (from the start of the solve call) until the method's progress trace first came within `gap` of the
    instance's `bound` (the best bound, or "lp": the LP relaxation's)."""
    if not run.get("trace") or not bounds.get(bound) or not bounds.get("weight"):
        return None
    w, zb = bounds["weight"], bounds[bound]
    for seconds, placed, score in run["trace"]:
        if (zb - (w * placed + score)) / zb <= gap:
            return float(seconds)
    return None


def _total_seconds(run: dict[str, Any]) -> float | None:
    if run.get("build_s") is None or run.get("solve_s") is None:
        return None
    return float(run["build_s"]) + float(run["solve_s"])


def _better(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return (a["placed"], a["score"]) > (b["placed"], b["score"])


def _find(payload: dict[str, Any], size: str, scenario: str, method: str, seed: int = SEED) -> dict[str, Any] | None:
    for run in payload["runs"]:
        if _key(run) == (size, scenario, seed) and run["method"] == method:
            return dict(run)
    return None


def _seeds(payload: dict[str, Any], size: str, scenario: str) -> list[int]:
    return sorted({_key(r)[2] for r in payload["runs"] if (r["size"], r["scenario"]) == (size, scenario)})


def region_rows(payload: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Region, default, each seed: proven, and how many times faster than the fastest peer that proves it (CP-SAT
    or HiGHS, build + solve); then the median of the ratios. A seed no peer proves within the limit counts as
    met when the engine proves it (no ratio: the peers' time is over the limit)."""
    rows: list[tuple[str, str, str]] = []
    ratios: list[float] = []
    all_proven = True
    seeds = _seeds(payload, "region", "default")
    for seed in seeds:
        engine = _find(payload, "region", "default", "engine", seed)
        if not engine:
            continue
        proving = [
            r for r in payload["runs"]
            if _key(r) == ("region", "default", seed) and r["method"] in ("cpsat", "mip")
            and r["outcome"] == "ok" and r.get("proven")
        ]  # fmt: skip
        t_engine = _total_seconds(engine)
        fastest = min(proving, key=lambda r: _total_seconds(r) or math.inf) if proving else None
        proven = bool(engine.get("proven")) and engine["outcome"] == "ok"
        all_proven = all_proven and proven
        name = f"region, default, seed {seed}: proven optimal ≥ {REGION_SPEEDUP:g} × faster than the fastest peer"
        if fastest and t_engine:
            ratio = (_total_seconds(fastest) or 0.0) / t_engine
            ratios.append(ratio if proven else 0.0)
            measured = f"engine {t_engine:.2f} s, {fastest['method']} {_total_seconds(fastest):.2f} s: {ratio:.2f} ×"
            verdict = proven and ratio >= REGION_SPEEDUP
        else:
            measured = f"engine {_fmt(t_engine)} s; no peer proved optimality within the limit"
            ratios.append(math.inf if proven else 0.0)
            verdict = proven
        rows.append((name, measured + ("" if proven else "; engine not proven"), "met" if verdict else "not met"))
    if len(seeds) > 1 and ratios:
        median = statistics.median(ratios)
        rows.append((
            f"region, default, {len(ratios)} seeds: median ratio ≥ {REGION_SPEEDUP:g} ×, every seed proven",
            f"median {_fmt(median)} × ({', '.join(_fmt(r) if r > 0 else 'not proven' for r in ratios)}); "
            f"{'every seed proven' if all_proven else 'not every seed proven'}",
            "met" if all_proven and median >= REGION_SPEEDUP else "not met",
        ))  # fmt: skip
    return rows


def midsize_rows(payload: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Mid-size, supervision-bound, each seed: the engine's plan (its limit) at least as good as HiGHS's MIP given
    its own (longer) limit: as many placements, and with as many at least its fit score (the lexicographic order:
    more placements is better whatever the score)."""
    rows: list[tuple[str, str, str]] = []
    met_count = 0
    seeds = _seeds(payload, "midsize", "binding")
    for seed in seeds:
        engine = _find(payload, "midsize", "binding", "engine", seed)
        mip = _find(payload, "midsize", "binding", "mip", seed)
        if not engine:
            continue
        name = "midsize, binding, seed {}: engine in {:g} s at least HiGHS MIP's plan in {} s".format(
            seed, engine["time_limit_s"], f"{mip['time_limit_s']:g}" if mip else "?"
        )
        if engine["outcome"] != "ok":
            rows.append((name, f"engine: {engine['outcome']}", "not met"))
            continue
        mine = f"engine {engine['placed']} placed, fit score {engine['score']}"
        if not mip or mip["outcome"] != "ok" or mip.get("placed") is None:
            rows.append((name, f"{mine}; HiGHS MIP: {mip['outcome'] if mip else 'not run'} (no plan)", "met"))
            met_count += 1
            continue
        ok = (engine["placed"], engine["score"]) >= (mip["placed"], mip["score"])
        met_count += ok
        rows.append((name, f"{mine}; HiGHS MIP {mip['placed']} placed, fit score {mip['score']}",
                     "met" if ok else "not met"))  # fmt: skip
    if len(seeds) > 1:
        rows.append((f"midsize, binding, {len(seeds)} seeds: every seed", f"{met_count} of {len(seeds)} met",
                     "met" if met_count == len(seeds) else "not met"))  # fmt: skip
    return rows


def targets(payload: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(target, measured, verdict) for every target the run can judge."""
    bounds = _instance_bounds(payload)
    rows: list[tuple[str, str, str]] = []
    sizes = {s["name"] for s in payload["sizes"]}

    if "region" in sizes:
        rows += region_rows(payload)
    if "midsize" in sizes:
        rows += midsize_rows(payload)
    if "county" in sizes:
        for scenario in SCENARIOS:
            engine = _find(payload, "county", scenario, "engine")
            if not engine or engine["outcome"] != "ok":
                continue
            b = bounds.get(("county", scenario, SEED), {})
            reached = _time_to_gap(engine, b, COUNTY_GAP)
            _, _, final_gap = _gaps(engine, b)
            rows.append((
                f"county, {scenario}: within 0.3 % of the best bound in ≤ 30 s",
                f"{f'reached at {reached:.1f} s' if reached is not None else 'not reached'}; "
                f"final gap {_pct(final_gap)} ({b.get('by', '?')} bound)",
                "met" if reached is not None and reached <= COUNTY_SECONDS else "not met",
            ))  # fmt: skip
            peers = [
                r for r in payload["runs"]
                if _key(r) == ("county", scenario, SEED) and r["method"] not in ("engine", *BOUND_METHODS)
                and r["outcome"] == "ok" and r.get("placed") is not None
            ]  # fmt: skip
            beaten = [p["method"] for p in peers if _better(engine, p)]
            # Nobody beats a proven optimum: equal to one counts, and then the engine's plan is optimal too.
            tied = [p["method"] for p in peers if not _better(engine, p) and not _better(p, engine) and p.get("proven")]
            worse = [p["method"] for p in peers if p["method"] not in beaten and p["method"] not in tied]
            rows.append((
                f"county, {scenario}: better than every peer given {engine['time_limit_s']:g} s",
                f"better than {', '.join(beaten) or 'none'}"
                + (f"; equal to the proven optimum of {', '.join(tied)}" if tied else "")
                + (f"; not better than {', '.join(worse)}" if worse else ""),
                "met" if not worse else "not met",
            ))  # fmt: skip
    if "nation" in sizes:
        for scenario in SCENARIOS:
            engine = _find(payload, "nation", scenario, "engine")
            if not engine:
                continue
            b = bounds.get(("nation", scenario, SEED), {})
            lp_bound = b.get("lp")
            gap = None
            if engine["outcome"] == "ok" and lp_bound and b.get("weight"):
                gap = (lp_bound - (b["weight"] * engine["placed"] + engine["score"])) / lp_bound
            seconds = _total_seconds(engine)
            peak = engine.get("peak_mb")
            ok = gap is not None and gap <= NATION_GAP and (seconds or math.inf) <= NATION_SECONDS + 5
            milestones = "; ".join(
                f"within {share * 100:g} % "
                + (f"at {t:.1f} s" if (t := _time_to_gap(engine, b, share, "lp")) is not None else "not reached")
                for share in NATION_MILESTONES
            )
            # The closest any plan can come to the LP bound: the best bound's own distance from it.
            floor_gap = (lp_bound - b["bound"]) / lp_bound if lp_bound and b.get("bound") is not None else None
            attainable = ""
            if floor_gap is not None and floor_gap > NATION_GAP:
                attainable = (
                    f"; **no plan can be within {NATION_GAP * 100:g} %**: {METHOD_LABELS.get(b['by'], b['by'])} "
                    f"proves at most {b['placed_bound']:,} placed, {_pct(floor_gap)} below the LP bound; the plan "
                    f"is {_pct(_gaps(engine, b)[2])} from that bound"
                )
            rows.append((
                f"nation, {scenario}: within {NATION_GAP * 100:g} % of the LP bound in ≤ {NATION_SECONDS:g} s using "
                f"≤ {NATION_MB / 1024:g} GB",
                f"gap {_pct(gap)} in {_fmt(seconds, 1)} s, peak {_fmt(peak, 0)} MB; {milestones}{attainable}",
                "met" if ok and peak is not None and peak <= NATION_MB
                else "not met: unattainable" if attainable else "not met",
            ))  # fmt: skip
    for core in payload.get("core", []):
        name = core["instance"]
        build = core["build_problem_s"] + core["sparse_model_s"] + core["model_builder_fill_s"]
        rows.append((
            f"model build at {name} ({core['pairs']:,} pairs) under 2 s",
            f"{build:.2f} s (feasible pairs and problem {core['build_problem_s']:.2f} s, sparse rows "
            f"{core['sparse_model_s']:.2f} s, into HiGHS {core['model_builder_fill_s']:.2f} s)",
            "met" if build < 2 else "not met",
        ))  # fmt: skip
        rows.append((f"feasible pairs at {name} under 2 s", f"{core['feasible_pairs_s']:.2f} s",
                     "met" if core["feasible_pairs_s"] < 2 else "not met"))  # fmt: skip
        p95 = core["suggest_ms"]["p95"]
        rows.append((
            f"suggest, one participant against {core['slots']:,} slots: core's part under 1 ms at p95",
            f"p95 {p95:.2f} ms (p50 {core['suggest_ms']['p50']:.2f} ms)",
            "met" if p95 < 1.0 else "not met",
        ))  # fmt: skip
    return rows


def _table(payload: dict[str, Any], scenario: str, bounds: dict[Key, dict[str, Any]]) -> list[str]:
    lines = [
        "| size | seed | method | limit s | build s | solve s | placed | placed gap | fit score | fit-score gap "
        "| objective gap | proven optimal | peak MB | notes |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|",
    ]
    for size in [s["name"] for s in payload["sizes"]]:
        for seed in _seeds(payload, size, scenario):
            lines += _instance_rows(payload, (size, scenario, seed), bounds.get((size, scenario, seed), {}))
    return lines


def _instance_rows(payload: dict[str, Any], key: Key, b: dict[str, Any]) -> list[str]:
    size, _, seed = key
    lines = []
    for run in payload["runs"]:
        if _key(run) != key:
            continue
        placed_gap, score_gap, objective_gap = _gaps(run, b)
        proven = {True: "yes", False: "no", None: "—"}[run.get("proven")]
        if run["outcome"] not in ("ok",):
            proven = "—" if run["method"] in BOUND_METHODS else proven
        note = run["outcome"] if run["outcome"] != "ok" else ""
        if run["method"] == "lp" and run.get("bound") is not None and b.get("weight"):
            w = b["weight"]
            note = f"bound: {run['bound'] // w} placed, fit score {run['bound'] - (run['bound'] // w) * w}"
        elif run["method"] == "placements" and run.get("bound") is not None and b.get("weight"):
            note = f"bound: {run['bound'] // b['weight']} placed (placements only)"
        elif run["outcome"] == "failing":
            note = f"FAILS the checker: {run['detail'][:90]}"
        elif run["outcome"] in ("killed", "error", "no plan"):
            note = f"{run['outcome']}: {run['detail'][:90]}"
        elif run["method"] == "engine":
            reached = _time_to_gap(run, b, COUNTY_GAP)
            note = f"within 0.3 % at {reached:.1f} s" if reached is not None else ""
        label = METHOD_LABELS.get(run["method"], run["method"])
        lines.append(
            f"| {size} | {seed} | {label} | {run['time_limit_s']:g} | {_fmt(run.get('build_s'))} | "
            f"{_fmt(run.get('solve_s'))} | {run.get('placed') if run.get('placed') is not None else '—'} | "
            f"{_pct(placed_gap)} | {run.get('score') if run.get('score') is not None else '—'} | "
            f"{_pct(score_gap)} | {_pct(objective_gap)} | {proven} | {_fmt(run.get('peak_mb'), 0)} | {note} |"
        )
    if b.get("bound") is not None:
        lines.append(
            f"| {size} | {seed} | *best bound* | | | | {b['placed_bound']} | | "
            f"{'—' if b['score_bound'] is None else b['score_bound']} | | | | | "
            f"from {METHOD_LABELS.get(b['by'], b['by'])} |"
        )
    return lines


def write_chart(payload: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bounds = _instance_bounds(payload)
    scenarios = [s for s in ALL_SCENARIOS if any(r["scenario"] == s for r in payload["runs"])]
    fig, axes = plt.subplots(1, len(scenarios), figsize=(5.2 * len(scenarios), 4.4), sharey=True, squeeze=False)
    markers = {"region": "o", "county": "s", "midsize": "D", "nation": "^", "smoke": "o"}
    colours = {"engine": "tab:red", "cpsat": "tab:blue", "mip": "tab:green", "greedy": "tab:gray", "flow": "tab:purple"}
    for ax, scenario in zip(axes[0], scenarios, strict=True):
        for run in payload["runs"]:
            if run["scenario"] != scenario or run["method"] in BOUND_METHODS:
                continue
            _, _, gap = _gaps(run, bounds.get(_key(run), {}))
            seconds = _total_seconds(run)
            if gap is None or seconds is None:
                continue
            ax.scatter(
                max(seconds, 1e-3), 100 * max(gap, 0.0), marker=markers.get(run["size"], "o"),
                color=colours.get(run["method"], "black"), s=70 if run["method"] == "engine" else 45,
                edgecolors="black" if run.get("proven") else "none", linewidths=1.2,
            )  # fmt: skip
        ax.set_xscale("log")
        ax.set_yscale("symlog", linthresh=0.1)
        ax.set_title(f"supervision {scenario}")
        ax.set_xlabel("build + solve time (s, log)")
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].set_ylabel("gap to the best bound, lexicographic objective (%)")
    handles = [
        plt.Line2D([], [], color=c, marker="o", linestyle="", label=METHOD_LABELS[m]) for m, c in colours.items()
    ] + [
        plt.Line2D([], [], color="black", marker=mk, linestyle="", markerfacecolor="white", label=size)
        for size, mk in markers.items()
        if any(r["size"] == size for r in payload["runs"])
    ]  # fmt: skip
    fig.legend(handles=handles, loc="lower center", ncol=4, fontsize=8, frameon=False)
    fig.suptitle("Time against gap (black edge: proven optimal)")
    fig.tight_layout(rect=(0, 0.12, 1, 0.95))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def chart_for(report: Path) -> Path:
    """The chart beside a report: results.png for RESULTS.md, else named after the report (a partial run written
    with --out next to RESULTS.md leaves the full run's chart alone)."""
    return report.with_name("results.png" if report.name == "RESULTS.md" else f"{report.stem}.png")


def write_report(payload: dict[str, Any], path: Path, chart: Path) -> None:
    bounds = _instance_bounds(payload)
    m, v = payload["machine"], payload["versions"]
    lines = [
        "# Benchmark results",
        "",
        "Produced by the command below; do not edit by hand (how to run and read it: `benchmarks/README.md`).",
        "",
        f"- **Command:** `{payload['command']}` (started {payload['started_utc']}, "
        f"took {payload['seconds'] / 60:.1f} min)",
        f"- **Machine:** {m['cpu']}, {m['cores']} cores, {m['memory']}; {m['os']}",
        f"- **Versions:** Python {m['python']}, ortools {v['ortools']}, HiGHS {v['HiGHS']}, numpy {v['numpy']}, "
        f"scipy {v['scipy']}, matplotlib {v['matplotlib']}; code at commit {v['commit']}"
        + {
            "no": " (no uncommitted changes to `matcher/` or `benchmarks/`)",
            "yes": " **with uncommitted changes** to `matcher/` or `benchmarks/`",
        }.get(v.get("uncommitted", ""), " (uncommitted changes not recorded)"),  # fmt: skip
        "- **Each method** runs in its own process, one after another, with the size's time limit; loading the CSV "
        "files is not counted. Every plan is checked by `matcher.check_plan` before it is scored.",
        "",
        "## Targets",
        "",
        "| target | measured | verdict |",
        "|---|---|---|",
    ]
    lines += [f"| {t} | {measured} | **{verdict}** |" for t, measured, verdict in targets(payload)]
    lines += [
        "",
        "## Instances",
        "",
        "| size | scenario | participants | slots | sites | seats | feasible pairs | sites over supervision if it "
        "were ignored | generator |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for meta in payload["instances"]:
        share = meta.get("over_supervision_share")
        lines.append(
            f"| {meta['size']} | {meta['scenario']} | {meta['participants']:,} | {meta['slots']:,} | {meta['sites']:,} "
            f"| {meta['seats']:,} | {meta.get('pairs') or 0:,} | {_pct(share)} | `{meta['generator']}` |"
        )
    for scenario in ALL_SCENARIOS:
        if not any(r["scenario"] == scenario for r in payload["runs"]):
            continue
        lines += ["", f"## Supervision {scenario}", ""]
        lines += _table(payload, scenario, bounds)
    for core in payload.get("core", []):
        s = core["suggest_ms"]
        lines += [
            "",
            f"## Core timings on {core['instance']} ({core['participants']:,} participants, {core['slots']:,} slots, "
            f"{core['pairs']:,} feasible pairs)",
            "",
            "Median of three runs (CP-SAT proto: one run).",
            "",
            "| step | seconds |",
            "|---|---:|",
            f"| read the CSV files (not counted anywhere else) | {core['read_s']:.2f} |",
            f"| compile the instance into arrays | {core['compile_s']:.3f} |",
            f"| feasible pairs (rules 1–9, travel, scores) | {core['feasible_pairs_s']:.3f} |",
            "| the assignment problem (feasible pairs again, pinned people out, supervision scaled) | "
            f"{core['build_problem_s']:.3f} |",
            f"| sparse rows ({core['rows']:,} rows) | {core['sparse_model_s']:.3f} |",
            f"| into HiGHS (`fill_model_from_sparse_data`) | {core['model_builder_fill_s']:.3f} |",
            f"| CP-SAT proto, written directly | {core['cpsat_proto_s']:.3f} |",
            "",
            f"`suggest` (k = 5), {core['suggest_samples']:,} participants drawn with a fixed seed, occupancy computed "
            "once: "
            f"min {s['min']:.2f} ms, p50 {s['p50']:.2f} ms, p90 {s['p90']:.2f} ms, **p95 {s['p95']:.2f} ms**, "
            f"p99 {s['p99']:.2f} ms, max {s['max']:.2f} ms, mean {s['mean']:.2f} ms.",
            "",
            "| ms (from) | " + " | ".join(f"{e:.2f}" for e in core["suggest_hist_edges"][:-1]) + " |",
            "|---|" + "---:|" * len(core["suggest_hist"]),
            "| requests | " + " | ".join(str(c) for c in core["suggest_hist"]) + " |",
        ]
    lines += ["", f"![time against gap]({chart.name})", ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    write_chart(payload, chart)


def main(argv: list[str]) -> int:
    """Re-render a report from a saved results.json: `python -m benchmarks.report RESULTS_JSON OUT.md`."""
    payload = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    out = Path(argv[1])
    write_report(payload, out, chart_for(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
