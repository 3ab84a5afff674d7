"""The pooling family's report section: figures under concurrency per params set, then
throughput against workers, pool wait, and what a developer can act on
(``pooling_advice.py``, which also writes the headline finding on sync vs async under
concurrency).

Every sentence is computed from the rows (``row["concurrency"]``, see
docs/results-format.md); where the rows a sentence needs are missing, it says so.
"""

from typing import Any

from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from benchmarks.report.blocks import Block, Heading, Image, Paragraph, Table
from benchmarks.report.charts import ChartPath
from benchmarks.report.formatting import Row, count, duration, significant
from benchmarks.report.pooling_advice import (
    SCENARIO,
    WORKLOADS,
    advice,
    concurrency,
    rows_of,
    workload,
)
from benchmarks.report.rows import Run
from benchmarks.report.sections import register_section

STYLES = ("-", "--", ":", "-.")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "h", "<")


# --- under each params set: the concurrency table --------------------------------------------


def figures_table(
    run: Run, scenario: str, params: dict[str, Any], _charts: ChartPath
) -> list[Block]:
    rows = [r for r in run.sorted_rows(scenario, params) if "concurrency" in r]
    if not rows:
        return []
    lines = []
    for row in rows:
        own = concurrency(row)
        errors = ", ".join(f"{name}: {n}" for name, n in own["errors"].items()) or "0"
        ceiling = own.get("pool_ceiling")
        lines.append(
            [
                run.label(scenario, row["variant"]),
                row["implementation"],
                significant(row["ops_per_s"]),
                duration(own["latency_p50_s"]),
                duration(own["latency_p95_s"]),
                duration(own["latency_p99_s"]),
                duration(own["pool_wait_p50_s"]),
                duration(own["pool_wait_p95_s"]),
                count(round(own["connections_per_1000_ops"], 1)),
                str(own["peak_backends"]),
                "none" if ceiling is None else str(ceiling),
                f"{own['timeouts']} of {own['operations']}",
                errors,
            ]
        )
    return [
        Paragraph(
            f"Under concurrency, {params['workers']} workers: throughput counts the operations "
            "that succeeded, per second (median of the rounds); latency percentiles cover every "
            "operation, one that timed out included (it waited that long); wait is the time an "
            "operation spent getting a connection (queueing for one, opening one, the pre-ping). "
            "Backends: the most server connections `pg_stat_activity` showed for the row at once "
            "(through PgBouncer: PgBouncer's, shared by every client). Ceiling: the pool's "
            "maximum, read from the driver."
        ),
        Table(
            [
                "variant",
                "implementation",
                "ops/s",
                "p50",
                "p95",
                "p99",
                "wait p50",
                "wait p95",
                "connections / 1,000 ops",
                "peak backends",
                "pool ceiling",
                "timeouts",
                "errors",
            ],
            lines,
            numeric=tuple(range(2, 12)),
        ),
    ]


# --- after all params sets: the views across worker counts ----------------------------------


def across_workers(run: Run, scenario: str, charts: ChartPath) -> list[Block]:
    rows = rows_of(run)
    if not rows:
        return []
    blocks: list[Block] = [Heading(3, "Across worker counts")]
    blocks += plan_note(run)
    path = charts(f"{scenario}-throughput", 1)
    throughput_chart(run, rows, path)
    blocks.append(
        Image(path, "operations per second against workers, a line per implementation and pool")
    )
    path = charts(f"{scenario}-wait", 1)
    if wait_chart(run, rows, path):
        blocks.append(Image(path, "time spent getting a connection, p50 with a whisker to p95"))
    blocks += [Heading(3, "What to do with it"), *advice(run, rows)]
    return blocks


def plan_note(run: Run) -> list[Block]:
    module = run.module(SCENARIO)
    profile = run.meta.get("profile", "")
    if module is None or profile not in getattr(module, "PLAN", {}):
        return []
    lines = []
    for workers, names in module.PLAN[profile].items():
        labels = sorted({module.VARIANTS[name].config.label for name in names})
        kinds = sorted({WORKLOADS[name.split("_", 1)[0]] for name in names})
        lines.append([str(workers), "; ".join(kinds), "; ".join(labels)])
    return [
        Paragraph(
            f"What the `{profile}` profile runs ({module.ROUNDS[profile]} measured rounds per "
            f"row, each about {module.ROUND_SECONDS[profile] * 1000:g} ms, sized from the "
            "warm-up; every other profile is listed in `scenarios/pooling.py`, `PLAN`). "
            "The sync implementations' workers are threads of one process: they share the "
            "GIL, as a uvicorn worker's threadpool does. FastAPI runs `def` endpoints on 40 "
            "threads by default (anyio's limiter), so past 40 workers a sync app would queue "
            "requests before the pool does."
        ),
        Table(["workers", "workloads", "configurations"], lines),
    ]


def throughput_chart(run: Run, rows: list[Row], path: Any) -> None:
    """A line per implementation (color) and configuration (line style) that ran at two
    worker counts or more; a configuration run at one count only is in the tables."""
    kinds = [kind for kind in WORKLOADS if any(workload(r) == kind for r in rows)]
    figure = Figure(figsize=(10, 4.2 * len(kinds)), dpi=110, layout="constrained")
    counts: dict[str, set[int]] = {}
    for row in rows:
        counts.setdefault(concurrency(row)["config"], set()).add(concurrency(row)["workers"])
    configs = [config for config, seen in counts.items() if len(seen) > 1]
    for index, kind in enumerate(kinds, start=1):
        axes = figure.add_subplot(len(kinds), 1, index)
        for number, config in enumerate(configs):
            for implementation in run.implementations:
                points = sorted(
                    (concurrency(r)["workers"], r["ops_per_s"])
                    for r in rows
                    if workload(r) == kind
                    and r["implementation"] == implementation
                    and concurrency(r)["config"] == config
                    and r["ops_per_s"] > 0
                )
                if len(points) > 1:
                    axes.plot(
                        [w for w, _ in points],
                        [t for _, t in points],
                        color=run.color(implementation),
                        linestyle=STYLES[number % len(STYLES)],
                        marker=MARKERS[number % len(MARKERS)],
                    )
        workers = sorted({concurrency(r)["workers"] for r in rows})
        axes.set_xscale("log", base=2)
        axes.set_yscale("log")
        axes.set_xticks(workers, [str(w) for w in workers])
        axes.set_xlabel("workers (threads for sync, tasks for async)", fontsize=9)
        axes.set_ylabel("operations per second (log)", fontsize=9)
        axes.set_title(f"{WORKLOADS[kind]}: throughput against workers", fontsize=10)
        axes.grid(alpha=0.3, which="both")
    handles = [
        Line2D([], [], color=run.color(name), label=name)
        for name in run.implementations
        if any(r["implementation"] == name for r in rows)
    ] + [
        Line2D(
            [],
            [],
            color="#555555",
            linestyle=STYLES[number % len(STYLES)],
            marker=MARKERS[number % len(MARKERS)],
            label=f"pool: {config}",
        )
        for number, config in enumerate(configs)
    ]
    figure.legend(handles=handles, loc="outside lower center", ncols=4, fontsize=8, frameon=False)
    figure.savefig(path, format="png", metadata={"Software": None})


def wait_chart(run: Run, rows: list[Row], path: Any) -> bool:
    """Pool wait at the largest worker count that ran more than the parity pool."""
    by_workers: dict[int, set[str]] = {}
    for row in rows:
        by_workers.setdefault(concurrency(row)["workers"], set()).add(concurrency(row)["config"])
    richest = max(by_workers, key=lambda w: (len(by_workers[w]), w))
    shown = [r for r in rows if concurrency(r)["workers"] == richest and workload(r) == "get"]
    if not shown:
        return False
    module = run.module(SCENARIO)
    order = list(getattr(module, "CONFIGS", {}))  # the configurations' declared order

    def rank(config: str) -> int:
        return order.index(config) if config in order else len(order)

    shown.sort(
        key=lambda r: (rank(concurrency(r)["config"]), run.implementation_rank(r["implementation"]))
    )
    figure = Figure(figsize=(10, 1.5 + 0.28 * len(shown)), dpi=110, layout="constrained")
    axes = figure.add_subplot()
    p50 = [concurrency(r)["pool_wait_p50_s"] * 1000 for r in shown]
    p95 = [concurrency(r)["pool_wait_p95_s"] * 1000 for r in shown]
    axes.barh(
        range(len(shown)),
        p50,
        color=[run.color(r["implementation"]) for r in shown],
        xerr=[[0] * len(shown), [max(b - a, 0) for a, b in zip(p50, p95, strict=True)]],
        error_kw={"ecolor": "#333333", "capsize": 3, "elinewidth": 1},
    )
    axes.set_yticks(
        range(len(shown)),
        [f"{concurrency(r)['config']} · {r['implementation']}" for r in shown],
        fontsize=8,
    )
    axes.invert_yaxis()
    axes.set_xlabel("ms getting a connection per operation (p50, whisker to p95)", fontsize=9)
    axes.set_title(f"get by id, {richest} workers: time spent getting a connection", fontsize=10)
    axes.grid(axis="x", alpha=0.3)
    figure.savefig(path, format="png", metadata={"Software": None})
    return True


register_section(SCENARIO, per_params=figures_table, after=across_workers)
