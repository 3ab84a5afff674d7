"""One bar chart per scenario and params: the median of every row, with a whisker to its p95,
split into the client's CPU time (solid) and the time it spent waiting (light)."""

import re
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, NullFormatter

from benchmarks.report.formatting import count, duration, is_wrong, params_text, wrong_text
from benchmarks.report.rows import Run, scenarios_title

# Asks for a new chart file, ``chart-<stem>-<number>.png``, which the report then lists.
ChartPath = Callable[[str, int], Path]

LOG_SCALE_SPREAD = 30  # a linear axis hides the fast bars beyond this max/min spread


def chart(run: Run, scenario: str, params: dict[str, Any], path: Path) -> None:
    rows = run.sorted_rows(scenario, params)
    positions, labels, ticks = [], [], []
    y = 0.0
    for variant in run.variant_order(scenario):
        group = [r for r in rows if r["variant"] == variant]
        if not group:
            continue
        start = y
        for _row in group:
            positions.append(y)
            y += 1
        ticks.append((start + y - 1) / 2)
        labels.append(textwrap.fill(run.label(scenario, variant), 34))
        y += 0.8
    # A row with wrong answers gets no bar: its time is not a result (a note says why).
    medians = [0.0 if is_wrong(r) else r["median_s"] for r in rows]
    p95s = [0.0 if is_wrong(r) else max(r["p95_s"], r["median_s"]) for r in rows]
    # A file from before CPU time was recorded draws whole bars, as if all of it were CPU.
    cpus = [
        min(r.get("cpu_median_s", r["median_s"]), m) for r, m in zip(rows, medians, strict=True)
    ]
    colors = [run.color(r["implementation"]) for r in rows]
    height = 1.8 + 0.32 * len(rows) + 0.12 * len(ticks)
    figure = Figure(figsize=(10, height), dpi=110, layout="constrained")
    axes = figure.add_subplot()
    axes.barh(positions, cpus, height=0.85, color=colors)
    axes.barh(
        positions,
        [m - c for m, c in zip(medians, cpus, strict=True)],
        left=cpus,
        height=0.85,
        color=colors,
        alpha=0.35,
        xerr=[[0] * len(rows), [p - m for p, m in zip(p95s, medians, strict=True)]],
        error_kw={"ecolor": "#333333", "capsize": 3, "elinewidth": 1},
    )
    timed = [m for m in medians if m > 0] or [1e-6]
    log = max(p95s) / min(timed) > LOG_SCALE_SPREAD
    style_axis(axes, log, max(max(p95s), min(timed)), min(timed))
    for position, row, p95 in zip(positions, rows, p95s, strict=True):
        note = f" {duration(row['median_s'])}, {count(row['queries_per_op'])} stmt"
        if "round_trips_per_op" in row:
            note += f", {count(row['round_trips_per_op'])} round trips"
        if is_wrong(row):
            p95, note = (min(timed) / 2 if log else 0), f" {wrong_text(row).upper()}: not timed"
        axes.text(p95, position, note, va="center", fontsize=8)
    axes.set_yticks(ticks, labels, fontsize=9)
    axes.invert_yaxis()
    axes.set_title(f"{scenarios_title(run, scenario)}\n{params_text(params)}", fontsize=10)
    shown = dict.fromkeys(r["implementation"] for r in rows)
    figure.legend(
        handles=[
            *(Patch(color=run.color(i), label=i) for i in shown),
            Patch(color="#555555", label="client CPU"),
            Patch(color="#555555", alpha=0.35, label="waiting"),
        ],
        loc="outside lower center",
        ncols=len(shown) + 2,
        fontsize=8,
        frameon=False,
    )
    figure.savefig(path, format="png", metadata={"Software": None})


def style_axis(axes: Any, log: bool, high: float, low: float) -> None:
    axes.set_xlabel(
        "median time per operation (solid: client CPU, light: waiting), whisker to p95"
        + (" (log scale)" if log else ""),
        fontsize=9,
    )
    # Tick marks are round numbers: "10 ms" reads better than "10.0 ms" on an axis.
    formatter = FuncFormatter(lambda value, _: tick(value))
    if log:
        axes.set_xscale("log")
        axes.set_xlim(low / 2, high * 6)
        axes.xaxis.set_minor_formatter(NullFormatter())
    else:
        axes.set_xlim(0, high * 1.3)
    axes.xaxis.set_major_formatter(formatter)
    axes.grid(axis="x", alpha=0.3)
    axes.set_axisbelow(True)


def tick(seconds: float) -> str:
    if seconds <= 0:
        return "0"
    return re.sub(r"\.0+ ", " ", duration(seconds))
