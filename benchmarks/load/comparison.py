"""The comparison of a load run: one row per implementation (the median over its rounds),
written as comparison.json, comparison.md and one chart, comparison.png."""

import json
import statistics
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from benchmarks.report.rows import COLORS
from implementations import IMPLEMENTATIONS

# Figures that are a median over rounds; counts are summed instead.
MEDIAN_KEYS = (
    "rps", "p50_ms", "p95_ms", "p99_ms", "mean_ms", "window_s",
    "server_cpu_ms_per_request", "locust_cpu_share",
)  # fmt: skip
SUM_KEYS = ("requests", "failures", "exceptions")
ENDPOINT_MEDIAN_KEYS = ("rps", "p50_ms", "p95_ms", "p99_ms", "mean_ms")
POOL_MEDIAN_KEYS = ("busy_mean", "busy_share", "idle_in_transaction_mean", "lock_waits_mean")
POOL_MAX_KEYS = ("connections_max", "busy_max", "pool_max")
FAILURES_LISTED = 20  # locust keeps one row per error text, and a text may hold the URL


def _median(values: list[Any]) -> Any:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def _merge_counts(runs: list[dict[str, Any]], key: str) -> dict[str, float] | None:
    """Statements or round trips of one endpoint over several runs: the mean weighted by the
    responses each run counted, the lowest minimum and the highest maximum."""
    parts = [(r[key], r["responses_counted"]) for r in runs if key in r]
    if not parts:
        return None
    responses = sum(n for _, n in parts)
    return {
        "mean": round(sum(p["mean"] * n for p, n in parts) / responses, 3) if responses else 0,
        "min": min(p["min"] for p, _ in parts),
        "max": max(p["max"] for p, _ in parts),
    }


def combine(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One implementation's figures over its rounds."""
    combined: dict[str, Any] = {key: _median([r[key] for r in runs]) for key in MEDIAN_KEYS}
    combined.update({key: sum(r[key] for r in runs) for key in SUM_KEYS})
    combined["failure_ratio"] = (
        round(combined["failures"] / combined["requests"], 6) if combined["requests"] else 0.0
    )
    combined["rounds"] = len(runs)
    combined["rps_per_round"] = [r["rps"] for r in runs]
    combined["locust_exit_codes"] = [r["locust_exit_code"] for r in runs]
    for key in ("statements_per_request", "round_trips_per_request"):
        combined[key] = _median([r[key] for r in runs])
    pools = [r["pool"] for r in runs if r["pool"].get("samples")]
    combined["pool"] = {
        "samples": sum(p["samples"] for p in pools),
        **{k: _median([p[k] for p in pools]) for k in POOL_MEDIAN_KEYS},
        **{k: max((p[k] for p in pools), default=None) for k in POOL_MAX_KEYS},
    }
    endpoints: dict[str, Any] = {}
    for name in dict.fromkeys(e for r in runs for e in r["endpoints"]):
        per_run = [r["endpoints"][name] for r in runs if name in r["endpoints"]]
        endpoint = {k: _median([e[k] for e in per_run]) for k in ENDPOINT_MEDIAN_KEYS}
        endpoint["requests"] = sum(e["requests"] for e in per_run)
        endpoint["failures"] = sum(e["failures"] for e in per_run)
        endpoint["responses_counted"] = sum(e["responses_counted"] for e in per_run)
        for key in ("statements", "round_trips"):
            if (merged := _merge_counts(per_run, key)) is not None:
                endpoint[key] = merged
        endpoints[name] = endpoint
    combined["endpoints"] = endpoints
    combined["failure_messages"] = [m for r in runs for m in r["failure_messages"]]
    return combined


def compare(runs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """implementation -> combined figures, in the registry's order (not the running order)."""
    names = sorted(
        {r["implementation"] for r in runs},
        key=lambda n: list(IMPLEMENTATIONS).index(n) if n in IMPLEMENTATIONS else len(runs),
    )
    return {name: combine([r for r in runs if r["implementation"] == name]) for name in names}


def color(implementation: str) -> str:
    known = list(IMPLEMENTATIONS)
    return COLORS[known.index(implementation) % len(COLORS)] if implementation in known else "#777"


def chart(by_implementation: dict[str, dict[str, Any]], path: Path, title: str) -> None:
    """Requests per second (left) beside p50, p95 and p99 (right), one color per
    implementation as in the benchmark report."""
    names = list(by_implementation)
    figure = Figure(figsize=(11, 1.6 + 0.55 * len(names)), dpi=110, layout="constrained")
    figure.suptitle(title, fontsize=10)
    throughput, latency = figure.subplots(1, 2, sharey=True)
    positions = list(range(len(names)))
    colors = [color(n) for n in names]
    rps = [by_implementation[n]["rps"] or 0 for n in names]
    throughput.barh(positions, rps, color=colors)
    for y, value in zip(positions, rps, strict=True):
        throughput.annotate(f" {value:.0f}", (value, y), va="center", fontsize=8)
    throughput.set_yticks(positions, names)
    throughput.invert_yaxis()
    throughput.set_xlabel("requests per second (higher is better)")
    throughput.set_xlim(0, max([*rps, 1]) * 1.2)
    height = 0.26
    for offset, (key, alpha) in enumerate((("p50_ms", 1.0), ("p95_ms", 0.6), ("p99_ms", 0.3))):
        values = [by_implementation[n][key] or 0 for n in names]
        ys = [y + (offset - 1) * height for y in positions]
        latency.barh(ys, values, height=height, color=colors, alpha=alpha)
        for y, value in zip(ys, values, strict=True):
            latency.annotate(f" {key[:3]} {value:g}", (value, y), va="center", fontsize=7)
    latency.set_xlabel("response time, ms: p50, p95, p99 (lower is better)")
    p99s = [by_implementation[n]["p99_ms"] or 0 for n in names]
    latency.set_xlim(0, max([*p99s, 1]) * 1.3)
    for axes in (throughput, latency):
        axes.grid(axis="x", alpha=0.3)
        axes.spines[["top", "right"]].set_visible(False)
    figure.savefig(path)


def _ms(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def _counts(endpoint: dict[str, Any]) -> str:
    if "statements" not in endpoint:
        return ""
    s, r = endpoint["statements"], endpoint.get("round_trips")
    text = f"{s['mean']:g}" if s["min"] == s["max"] else f"{s['mean']:g} ({s['min']}-{s['max']})"
    return text + (f" / {r['mean']:.2g}" if r else "")


def summary_rows(by_implementation: dict[str, dict[str, Any]]) -> list[list[str]]:
    rows = []
    for name, f in by_implementation.items():
        pool = f["pool"]
        busy = (
            f"{pool['busy_mean']:g} / {pool['busy_max']} of {pool['pool_max']}"
            if pool.get("busy_mean") is not None
            else ""
        )
        rows.append(
            [
                name,
                str(f["requests"]),
                f"{f['rps']:.1f}",
                _ms(f["p50_ms"]),
                _ms(f["p95_ms"]),
                _ms(f["p99_ms"]),
                f"{f['failures']}" + (f" +{f['exceptions']} exc" if f["exceptions"] else ""),
                _ms(f["statements_per_request"]),
                _ms(f["round_trips_per_request"]),
                _ms(f["server_cpu_ms_per_request"]),
                busy,
                "" if f["locust_cpu_share"] is None else f"{f['locust_cpu_share']:.0%}",
            ]
        )
    return rows


SUMMARY_COLUMNS = [
    "implementation", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms", "failures",
    "statements/req", "round trips/req", "server CPU ms/req", "db busy: mean / peak of max",
    "locust CPU",
]  # fmt: skip


def endpoint_rows(
    by_implementation: dict[str, dict[str, Any]], cell: Any
) -> list[tuple[str, list[str]]]:
    names = list(dict.fromkeys(e for f in by_implementation.values() for e in f["endpoints"]))
    return [
        (
            endpoint,
            [
                cell(f["endpoints"][endpoint]) if endpoint in f["endpoints"] else ""
                for f in by_implementation.values()
            ],
        )
        for endpoint in names
    ]


def _table(columns: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def markdown(document: dict[str, Any]) -> str:
    by_implementation = document["implementations"]
    names = list(by_implementation)
    parts = [
        "# Load: every implementation under the same HTTP traffic",
        document["description"],
        _table(SUMMARY_COLUMNS, summary_rows(by_implementation)),
        "Median over rounds where there were several. *db busy*: connections of the server's "
        "pool that PostgreSQL saw working (running a statement or inside a transaction), "
        "sampled every 0.2 s, against the most the pools may open. *locust CPU*: the load "
        "generator's CPU time over the run (100% = one core); near its core count, the "
        "client, not the server, set the pace.",
        "![requests per second and response times](comparison.png)",
        "## Statements / round trips per request, by endpoint",
        "From each response's `X-Query-Count` and `X-Round-Trips`; a range where they varied "
        "(a prepare on a new connection, a deadlock retried).",
        _table(
            ["endpoint", *names],
            [[e, *cells] for e, cells in endpoint_rows(by_implementation, _counts)],
        ),
        "## p95 by endpoint (ms)",
        _table(
            ["endpoint", *names],
            [
                [e, *cells]
                for e, cells in endpoint_rows(by_implementation, lambda x: _ms(x["p95_ms"]))
            ],
        ),
        "## Requests per second by endpoint",
        _table(
            ["endpoint", *names],
            [
                [e, *cells]
                for e, cells in endpoint_rows(by_implementation, lambda x: f"{x['rps']:.1f}")
            ],
        ),
    ]
    failures = [(n, m) for n, f in by_implementation.items() for m in f["failure_messages"]]
    if failures:
        listed = "\n".join(f"- {n}: {m}" for n, m in failures[:FAILURES_LISTED])
        if len(failures) > FAILURES_LISTED:
            listed += (
                f"\n- ... {len(failures) - FAILURES_LISTED} more in the runs' locust_failures.csv"
            )
        parts += ["## Failures", listed]
    parts += [
        "## Files",
        "One folder per run, in running order: locust's `locust.json`, `locust_*.csv` and "
        "`locust.html`, `statements.json` (the headers per endpoint), `uvicorn.log`, "
        "`locust.log`. Runs: " + ", ".join(r["folder"] for r in document["runs"]) + ".",
    ]
    return "\n\n".join(parts) + "\n"


def write(document: dict[str, Any], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "comparison.json", out / "comparison.md"]
    paths[0].write_text(json.dumps(document, indent=2) + "\n")
    paths[1].write_text(markdown(document))
    if any(f["requests"] for f in document["implementations"].values()):
        chart(document["implementations"], out / "comparison.png", document["title"])
        paths.append(out / "comparison.png")
    return paths
