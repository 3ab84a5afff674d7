"""The headline findings: the few questions every run answers, each computed from the rows.

When the rows a finding needs are missing, the finding says which ones instead of guessing.
"""

import statistics

from benchmarks.report.blocks import Block, Bullets, Heading, Paragraph, Table
from benchmarks.report.formatting import (
    Row,
    compared,
    count,
    cpu,
    duration,
    figures,
    params_text,
    ratio,
    round_trips,
    statements,
)
from benchmarks.report.pooling_advice import under_concurrency
from benchmarks.report.rows import FLOOR_BY_DRIVER, Run, fastest, ordered_groups, paired

GET_FLOOR = "get_by_sql"  # crud's floor for get by id
# The ORM ways the get-by-id finding lists: the entity as the API reads it, and the ways that
# take a round trip or a column off it.
HEADLINE_GETS = ("get_entity", "get_autocommit", "get_no_reset", "get_deferred", "get_columns")
# The floor's ways of reading that differ from the autocommit floor in round trips only.
EQUAL_ROUND_TRIP_FLOORS = (GET_FLOOR, "get_in_transaction", "get_no_reset")
GET_HEADERS = [
    "implementation",
    "way",
    "round trips",
    "median",
    "CPU",
    "waiting",
    "÷ autocommit floor",
    "÷ floor with the same round trips",
]
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


def get_overhead(run: Run) -> list[Block]:
    """Get by id, per ORM: against the autocommit floor, against a floor paying the same round
    trips, and where the time goes."""
    rows = [r for r in run.select("crud") if r.get("operation", "get_user") == "get_user"]
    rows = [r for r in rows if r["variant"].startswith("get_")]
    if not rows:
        return [Paragraph("Cannot be computed: this run has no `crud` get-by-id rows.")]
    params = next(p for p in run.params_sets("crud") if any(r["params"] == p for r in rows))
    rows = [r for r in rows if r["params"] == params]
    floors = set(FLOOR_BY_DRIVER.values())
    orms = [(i, own) for i, own in ordered_groups(run, rows) if i not in floors]
    if not orms:
        return [Paragraph("Cannot be computed: no ORM has get-by-id rows in this run.")]
    table: list[list[str]] = []
    notes: list[str] = []
    for implementation, own in orms:
        floor_name = run.floor_of(implementation, own[0])
        floor_rows = [r for r in rows if r["implementation"] == floor_name]
        autocommit = next((r for r in floor_rows if r["variant"] == GET_FLOOR), None)
        if autocommit is None:
            notes.append(
                f"`{implementation}`: cannot be computed, the floor's row "
                f"(`{GET_FLOOR}` on `{floor_name}`) is missing."
            )
            continue
        for row in sorted(own, key=lambda r: r["median_s"]):
            if row["variant"] not in HEADLINE_GETS:
                continue
            same = equal_round_trips(row, floor_rows)
            table.append(
                [
                    f"`{implementation}`",
                    run.label("crud", row["variant"]),
                    round_trips(row),
                    duration(row["median_s"]),
                    cpu(row),
                    waiting(row),
                    ratio(row["median_s"] / autocommit["median_s"]),
                    f"{ratio(row['median_s'] / same['median_s'])} "
                    f"(“{run.label('crud', same['variant'])}”)"
                    if same
                    else "no floor row with these round trips",
                ]
            )
    for name in sorted(floors, key=run.implementation_rank):
        for row in sorted(
            (r for r in rows if r["implementation"] == name), key=lambda r: r["median_s"]
        ):
            table.append(
                [
                    f"`{name}` (floor)",
                    run.label("crud", row["variant"]),
                    round_trips(row),
                    duration(row["median_s"]),
                    cpu(row),
                    waiting(row),
                    "",
                    "",
                ]
            )
    intro = Paragraph(
        f"Get by id at {params_text(params)}. An ORM's read costs more round trips than a "
        "floor's in autocommit (a Session's BEGIN and the ROLLBACK of its pool's reset; "
        "asyncpg's pool reset query), so each ORM way is divided by two floors on its driver: "
        f"the autocommit floor (`{GET_FLOOR}`, what the floor_ratio column uses) and the floor "
        "way that pays the same round trips, which leaves only what the library does in Python. "
        "CPU is the client's time; waiting is the rest of the median."
    )
    blocks: list[Block] = [intro, Table(GET_HEADERS, table, numeric=(2, 3, 4, 5, 6))]
    if notes:
        blocks.append(Bullets(notes))
    return blocks


def equal_round_trips(row: Row, floor_rows: list[Row]) -> Row | None:
    """The floor's plain-SQL get whose round trips per call equal ``row``'s (the autocommit
    floor first; a prepared statement is other work, never the match)."""
    if "round_trips_per_op" not in row:
        return None
    for variant in EQUAL_ROUND_TRIP_FLOORS:
        for floor in floor_rows:
            same = floor.get("round_trips_per_op") == row["round_trips_per_op"]
            if floor["variant"] == variant and same:
                return floor
    return None


def waiting(row: Row) -> str:
    if "cpu_median_s" not in row:
        return "n/a"
    return duration(max(row["median_s"] - row["cpu_median_s"], 0.0))


def ratio_summary(pairs: list[tuple[Row, Row]]) -> tuple[int, int, int, float]:
    ratios = [b["median_s"] / a["median_s"] for a, b in pairs]
    faster = sum(r < 1 for r in ratios)
    noise = sum(abs(r - 1) <= NOISE for r in ratios)
    return faster, len(ratios) - faster, noise, statistics.median(ratios)


def single_call_pairs(run: Run, left: str, right: str) -> list[tuple[Row, Row]]:
    """Rows of one call at a time (a concurrent family's rows have their own finding)."""

    def concurrent(row: Row) -> bool:
        module = run.module(row["scenario"])
        return "concurrency" in row or bool(getattr(module, "CONCURRENT", False))

    return [pair for pair in paired(run, left, right) if not concurrent(pair[0])]


def sync_vs_async(run: Run) -> list[Block]:
    pairs = single_call_pairs(run, SYNC_ORM, ASYNC_ORM)
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
        "keeps many requests waiting on the database at once. That question is the next "
        "finding's, from the `pooling` scenario."
    )
    blocks: list[Block] = [Paragraph(summary)]
    floors = single_call_pairs(run, "raw_psycopg2", "raw_asyncpg")
    if floors:
        *_, floor_middle = ratio_summary(floors)
        blocks.append(
            Paragraph(
                f"For reference, the raw drivers on the same kind of comparison "
                f"({len(floors)} rows): median `raw_asyncpg` / `raw_psycopg2` ratio "
                f"{ratio(floor_middle)}. The two ratios do not separate ORM cost from driver "
                "cost: the two floors do not pay the same round trips (psycopg2 reads in "
                "autocommit, one round trip; asyncpg's pool adds its reset query on release), "
                "and neither do the two ORMs and their floors. The get-by-id finding above "
                "compares each ORM with a floor paying its round trips."
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
    ]
    blocks: list[Block] = [Heading(2, "Headline findings")]
    for number, (name, lines) in enumerate(findings, start=1):
        blocks += [Heading(3, f"{number}. {name}"), Paragraph(lines[0])]
        if lines[1:]:
            blocks.append(Bullets(lines[1:]))
    blocks.append(Heading(3, "3. Each ORM against its floors, get by id: where the time goes"))
    blocks += get_overhead(run)
    blocks.append(Heading(3, "4. Sync vs async SQLAlchemy, head to head: is async faster?"))
    blocks += sync_vs_async(run)
    blocks.append(Heading(3, "5. Sync vs async under concurrency: W workers at once"))
    return blocks + under_concurrency(run)
