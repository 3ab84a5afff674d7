"""One section per scenario: its prose, then per params a chart, the results table and the
rounds, then the variants that do not apply; plus the hook scenario families add blocks through.

The hook: ``register_section(scenario, per_params=..., after=...)``. ``per_params(run,
scenario, params, charts)`` returns blocks placed under each params set, after its table;
``after(run, scenario, charts)`` returns blocks placed once, after all params sets (for a view
across them, such as a figure against pool size). ``charts(stem, number)`` hands out a chart
file the report then lists and cleans up. Sections without rows call neither.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from benchmarks.report.blocks import Block, Heading, Image, Paragraph, Table
from benchmarks.report.charts import ChartPath, chart
from benchmarks.report.formatting import (
    Row,
    count,
    cpu,
    duration,
    is_wrong,
    params_text,
    ratio,
    round_trips,
    significant,
    statements,
    wrong_text,
)
from benchmarks.report.rows import Run, title_and_body

TABLE_HEADERS = [
    "variant",
    "implementation",
    "median",
    "CPU",
    "p95",
    "IQR",
    "ops/s",
    "statements/op",
    "round trips/op",
    "rows/op",
    "floor_ratio",
]


# --- the hook for scenario families ---------------------------------------------------------

ParamsBlocks = Callable[[Run, str, dict[str, Any], ChartPath], list[Block]]
ScenarioBlocks = Callable[[Run, str, ChartPath], list[Block]]


@dataclass(frozen=True)
class ExtraSection:
    """What a scenario family adds to its scenario's section; either part may be absent."""

    per_params: ParamsBlocks | None = None
    after: ScenarioBlocks | None = None


# Scenario name -> its extra blocks. Families fill it through register_section on import.
EXTRA_SECTIONS: dict[str, ExtraSection] = {}


def register_section(
    scenario: str,
    *,
    per_params: ParamsBlocks | None = None,
    after: ScenarioBlocks | None = None,
) -> None:
    """Add a family's blocks to ``scenario``'s section (see the module docstring)."""
    if per_params is None and after is None:
        raise TypeError(f"register_section({scenario!r}) needs per_params, after or both")
    # Two modules registering one scenario would silently drop one's blocks: refuse instead.
    if scenario in EXTRA_SECTIONS:
        raise ValueError(f"scenario {scenario!r} already has extra report blocks registered")
    EXTRA_SECTIONS[scenario] = ExtraSection(per_params, after)


# --- the standard section ---------------------------------------------------------------------


def results_table(run: Run, scenario: str, params: dict[str, Any]) -> Table:
    lines = []
    for row in run.sorted_rows(scenario, params):
        timings = [
            duration(row["median_s"]),
            cpu(row),
            duration(row["p95_s"]),
            duration(row["iqr_s"]),
            significant(row["ops_per_s"]),
        ]
        if is_wrong(row):  # shown as wrong, never as fast
            timings = [f"**{wrong_text(row)}**", "", "", "", ""]
        lines.append(
            [
                run.label(scenario, row["variant"]),
                row["implementation"],
                *timings,
                statements(row),
                round_trips(row),
                count(row["rows_per_op"]),
                "n/a" if is_wrong(row) else ratio(row["floor_ratio"]),
            ]
        )
    return Table(TABLE_HEADERS, lines, numeric=(2, 3, 4, 5, 6, 7, 8, 9, 10))


def work_note(run: Run, scenario: str, params: dict[str, Any]) -> Table | None:
    """What each way returns per call, where the ways of one operation differ: the object
    built per row and the columns it carries (a user with its tasks: ``7 + 8``), and what a
    variant declares it does differently (scenarios' ``differs``)."""
    rows = [r for r in run.sorted_rows(scenario, params) if "result_shape" in r]
    by_operation: dict[str, list[Row]] = {}
    for row in rows:
        by_operation.setdefault(row.get("operation", ""), []).append(row)
    lines = []
    for own in by_operation.values():
        kinds = {(r["result_shape"], tuple(r["columns_per_row"])) for r in own}
        if len(kinds) < 2:
            continue  # every way of this operation returns the same
        for row in own:
            columns = " + ".join(str(c) for c in row["columns_per_row"]) or "-"
            lines.append(
                [
                    run.label(scenario, row["variant"]),
                    row["implementation"],
                    row["result_shape"],
                    columns,
                    run.differs(scenario, row["variant"]) or "",
                ]
            )
    if not lines:
        return None
    return Table(["variant", "implementation", "returns", "columns per row", "differs"], lines)


def rounds_note(rows: list[Row]) -> str:
    rounds = sorted({r["rounds"] for r in rows})
    span = str(rounds[0]) if len(rounds) == 1 else f"{rounds[0]} to {rounds[-1]}"
    return f"Rounds per row: {span}."


def floor_note(run: Run, scenario: str) -> str | None:
    module = run.module(scenario)
    if module is None or not getattr(module, "FLOOR", None):
        return None
    floors = sorted(set(module.FLOOR.values()), key=run.variant_order(scenario).index)
    names = ", ".join(f"\u201c{run.label(scenario, v)}\u201d" for v in floors)
    return f"Floor: {names}, on `raw_psycopg2` for sync and `raw_asyncpg` for async rows."


def not_applicable(run: Run, scenario: str) -> Table | None:
    """One line per (variant, reason), naming every implementation it excludes."""
    grouped: dict[tuple[str, str], list[str]] = {}
    for entry in run.not_applicable:
        if entry["scenario"] == scenario:
            key = (entry["variant"], entry["reason"])
            grouped.setdefault(key, []).append(entry["implementation"])
    if not grouped:
        return None
    order = run.variant_order(scenario)
    items = sorted(
        grouped.items(), key=lambda item: order.index(item[0][0]) if item[0][0] in order else 99
    )
    return Table(
        ["variant", "does not apply to", "why"],
        [
            [run.label(scenario, variant), ", ".join(implementations), reason]
            for (variant, reason), implementations in items
        ],
    )


def section(run: Run, scenario: str, charts: ChartPath) -> list[Block]:
    module = run.module(scenario)
    heading, body = title_and_body(module) if module else (scenario, [])
    blocks: list[Block] = [Heading(2, heading), Paragraph(f"Scenario `{scenario}`.")]
    if not run.select(scenario):
        return [*blocks, Paragraph("Not in this run: there are no rows for this scenario.")]
    blocks += [Paragraph(text) for text in body]
    note = floor_note(run, scenario)
    if note:
        blocks.append(Paragraph(note))
    extra = EXTRA_SECTIONS.get(scenario, ExtraSection())
    for number, params in enumerate(run.params_sets(scenario), start=1):
        path = charts(scenario, number)
        chart(run, scenario, params, path)
        blocks += [
            Heading(3, params_text(params)),
            Image(path, f"{scenario}: median and p95 per variant, {params_text(params)}"),
            results_table(run, scenario, params),
            Paragraph(rounds_note(run.sorted_rows(scenario, params))),
        ]
        work = work_note(run, scenario, params)
        if work:
            blocks += [
                Paragraph(
                    "Not every way returns the same thing: ORM ways build an entity per row, "
                    "floors hand back the driver's rows (or the dicts the API builds from "
                    "them). What each returned per call, and the columns it carried:"
                ),
                work,
            ]
        if extra.per_params:
            blocks += extra.per_params(run, scenario, params, charts)
    if extra.after:
        blocks += extra.after(run, scenario, charts)
    missing = not_applicable(run, scenario)
    if missing:
        blocks += [Paragraph("Variants that do not apply to an implementation:"), missing]
    return blocks
