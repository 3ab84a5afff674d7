"""The headline findings: the few questions every run answers, each computed from the rows.

When the rows a finding needs are missing, the finding says which ones instead of guessing.
"""

import statistics

from benchmarks.report.blocks import Block, Bullets, Heading, Paragraph, Table
from benchmarks.report.formatting import (
    TIMES,
    Row,
    compared,
    count,
    duration,
    figures,
    params_text,
    ratio,
    statements,
)
from benchmarks.report.rows import FLOOR_BY_DRIVER, Run, fastest, ordered_groups, paired

GET_FLOOR = "get_by_sql"  # crud's floor for get by id
SYNC_ORM, ASYNC_ORM = "sync_sqlalchemy", "async_sqlalchemy"
NOISE = 0.05  # async/sync ratios within this of 1 are within run-to-run noise
PAIR_HEADERS = [
    "scenario",
    "variant",
    "params",
    "sync median",
    "async median",
    "async/sync",
    "statements sync / async",
]


def n_plus_one(run: Run) -> list[str]:
    rows = [r for r in run.select("eager_loading") if r["params"].get("n") == 100]
    if not rows:
        return ["Cannot be computed: this run has no `eager_loading` rows with n = 100."]
    params = next(p for p in run.params_sets("eager_loading") if p.get("n") == 100)
    lines = [f"At {params_text(params)}:"]
    for implementation, own in ordered_groups(run, [r for r in rows if r["params"] == params]):
        lazy = next((r for r in own if r["variant"] == "lazy"), None)
        best = fastest(r for r in own if r["variant"] != "lazy")
        if lazy is None or best is None:
            lacking = "the lazy loop" if lazy is None else "an eager variant"
            lines.append(f"`{implementation}`: cannot be computed, no row for {lacking}.")
            continue
        lines.append(
            f"`{implementation}`: the lazy loop is {compared(lazy['median_s'], best['median_s'])} "
            f"than its best eager way, \u201c{run.label('eager_loading', best['variant'])}\u201d: "
            f"{figures(lazy, best)}."
        )
    return lines


def bulk_speedup(run: Run) -> list[str]:
    rows = [r for r in run.select("bulk_insert") if "rows" in r["params"]]
    if not rows:
        return ["Cannot be computed: this run has no `bulk_insert` rows."]
    largest = max(r["params"]["rows"] for r in rows)
    lines = [f"At {count(largest)} rows:"]
    at_largest = [r for r in rows if r["params"]["rows"] == largest]
    for implementation, own in ordered_groups(run, at_largest):
        naive = next((r for r in own if r["variant"] == "row_per_commit"), None)
        best = fastest(r for r in own if r["variant"] != "row_per_commit")
        if naive is None or best is None:
            lacking = "one row per commit" if naive is None else "a batched variant"
            lines.append(f"`{implementation}`: cannot be computed, no row for {lacking}.")
            continue
        lines.append(
            f"`{implementation}`: \u201c{run.label('bulk_insert', best['variant'])}\u201d is "
            f"{compared(best['median_s'], naive['median_s'])} than one row per commit: "
            f"{figures(best, naive)}."
        )
    return lines


def get_floor_row(run: Run, row: Row) -> Row | None:
    floor = run.floor_of(row["implementation"], row)
    found = run.select("crud", variant=GET_FLOOR, implementation=floor, params=row["params"])
    return found[0] if found else None


def floor_ratio_of(run: Run, row: Row) -> float | None:
    if row["floor_ratio"] is not None:
        return row["floor_ratio"]
    base = get_floor_row(run, row)
    return row["median_s"] / base["median_s"] if base else None


def get_overhead(run: Run) -> list[str]:
    rows = [r for r in run.select("crud") if r["variant"].startswith("get_")]
    if not rows:
        return ["Cannot be computed: this run has no `crud` get-by-id rows."]
    params = next(p for p in run.params_sets("crud") if any(r["params"] == p for r in rows))
    rows = [r for r in rows if r["params"] == params]
    floors = set(FLOOR_BY_DRIVER.values())
    lines = [f"Get by id at {params_text(params)}, as floor_ratio (1.00{TIMES} = the floor):"]
    orms = [(i, own) for i, own in ordered_groups(run, rows) if i not in floors]
    if not orms:
        lines.append("Cannot be computed: no ORM has get-by-id rows in this run.")
    for implementation, own in orms:
        lines.append(orm_overhead(run, implementation, own))
    return lines


def orm_overhead(run: Run, implementation: str, own: list[Row]) -> str:
    floor = run.floor_of(implementation, own[0])
    entity = next((r for r in own if r["variant"] == "get_entity"), None)
    best = fastest(own)
    if any(floor_ratio_of(run, r) is None for r in (entity, best) if r is not None):
        return (
            f"`{implementation}`: cannot be computed, the floor's row "
            f"(`{GET_FLOOR}` on `{floor}`) is missing."
        )
    parts = []
    if entity is None:
        parts.append("no row for the ORM entity (`get_entity`)")
    else:
        parts.append(
            f"the ORM entity is {ratio(floor_ratio_of(run, entity))} its floor `{floor}` "
            f"({duration(entity['median_s'])}{against(get_floor_row(run, entity))})"
        )
    if best is not None and best is not entity:
        parts.append(
            f"its fastest read, \u201c{run.label('crud', best['variant'])}\u201d, "
            f"{ratio(floor_ratio_of(run, best))} ({duration(best['median_s'])})"
        )
    return f"`{implementation}`: {'; '.join(parts)}."


def against(floor: Row | None) -> str:
    return f" vs {duration(floor['median_s'])}" if floor else ""


def ratio_summary(pairs: list[tuple[Row, Row]]) -> tuple[int, int, int, float]:
    ratios = [b["median_s"] / a["median_s"] for a, b in pairs]
    faster = sum(r < 1 for r in ratios)
    noise = sum(abs(r - 1) <= NOISE for r in ratios)
    return faster, len(ratios) - faster, noise, statistics.median(ratios)


def sync_vs_async(run: Run) -> list[Block]:
    pairs = paired(run, SYNC_ORM, ASYNC_ORM)
    if not pairs:
        return [
            Paragraph(
                f"Cannot be computed: no (scenario, variant, params) was run by both "
                f"`{SYNC_ORM}` and `{ASYNC_ORM}` in this run."
            )
        ]
    faster, slower, noise, middle = ratio_summary(pairs)
    verdict = "faster" if middle < 1 else "slower"
    summary = (
        f"`{ASYNC_ORM}` was faster than `{SYNC_ORM}` on {faster} of {len(pairs)} rows and slower "
        f"on {slower} ({noise} of them within \u00b1{NOISE:.0%}, about run-to-run noise); the "
        f"median async/sync ratio is {ratio(middle)}, so async is {verdict} per call here. "
        "These are single-connection latencies, one call at a time: they measure what async "
        "costs or saves per operation, not throughput under concurrency, where an event loop "
        "keeps many requests waiting on the database at once. That question is for the load runs."
    )
    blocks: list[Block] = [Paragraph(summary)]
    floors = paired(run, "raw_psycopg2", "raw_asyncpg")
    if floors:
        *_, floor_middle = ratio_summary(floors)
        blocks.append(
            Paragraph(
                f"For reference, the raw drivers on the same kind of comparison "
                f"({len(floors)} rows): median `raw_asyncpg` / `raw_psycopg2` ratio "
                f"{ratio(floor_middle)}. The gap between the two ratios is what the ORM layer "
                "adds on top of the driver."
            )
        )
    blocks.append(
        Table(
            PAIR_HEADERS,
            [
                [
                    sync["scenario"],
                    run.label(sync["scenario"], sync["variant"]),
                    params_text(sync["params"]),
                    duration(sync["median_s"]),
                    duration(other["median_s"]),
                    ratio(other["median_s"] / sync["median_s"]),
                    f"{statements(sync)} / {statements(other)}",
                ]
                for sync, other in pairs
            ],
            numeric=(3, 4, 5, 6),
        )
    )
    return blocks


def headline(run: Run) -> list[Block]:
    findings: list[tuple[str, list[str]]] = [
        ("The N+1 penalty at N = 100", n_plus_one(run)),
        ("The best bulk insert against one row per commit", bulk_speedup(run)),
        ("Each ORM's overhead over its floor, get by id", get_overhead(run)),
    ]
    blocks: list[Block] = [Heading(2, "Headline findings")]
    for number, (name, lines) in enumerate(findings, start=1):
        blocks += [Heading(3, f"{number}. {name}"), Paragraph(lines[0])]
        if lines[1:]:
            blocks.append(Bullets(lines[1:]))
    blocks.append(Heading(3, "4. Sync vs async SQLAlchemy, head to head: is async faster?"))
    return blocks + sync_vs_async(run)
