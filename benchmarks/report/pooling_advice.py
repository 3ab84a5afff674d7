"""The pooling family's words: what a developer can act on (pool size for the workers, what
no pool, pre-ping, uvloop and asyncpg's reset cost, what exhaustion does), and the headline
finding on sync vs async under concurrency, beside the single-call one (``findings.py``).
Also the helpers the pooling report reads its rows with.

Every sentence is computed from the rows (``row["concurrency"]``, docs/results-format.md);
where the rows a sentence needs are missing, it is left out or says so.
"""

import statistics
from collections.abc import Iterable
from typing import Any

from benchmarks.report.blocks import Block, Bullets, Paragraph, Table
from benchmarks.report.formatting import TIMES, Row, count, duration, significant
from benchmarks.report.rows import Run

SCENARIO = "pooling"
WORKLOADS = {"get": "get by id", "page": "page of 10 users with their tasks"}
PAIRS = (  # (async, sync): the comparisons the sync-vs-async answer makes
    ("async_sqlalchemy", "sync_sqlalchemy"),
    ("tortoise", "sync_sqlalchemy"),
    ("raw_asyncpg", "raw_psycopg2"),
)


def concurrency(row: Row) -> dict[str, Any]:
    return row["concurrency"]


def rows_of(run: Run, **where: Any) -> list[Row]:
    """The family's rows with a ``concurrency`` object, filtered on it and on the row."""
    found = []
    for row in run.select(SCENARIO):
        if "concurrency" not in row:
            continue
        own = concurrency(row)
        if all(own.get(key, row.get(key)) == value for key, value in where.items()):
            found.append(row)
    return found


def workload(row: Row) -> str:
    return row["variant"].split("_", 1)[0]


def one(
    rows: Iterable[Row], implementation: str, config: str, kind: str, workers: int
) -> Row | None:
    for row in rows:
        own = concurrency(row)
        if (
            row["implementation"] == implementation
            and own["config"] == config
            and workload(row) == kind
            and own["workers"] == workers
        ):
            return row
    return None


def times(value: float) -> str:
    return f"{significant(value)}{TIMES}"


# --- the advice -------------------------------------------------------------------------------


def advice(run: Run, rows: list[Row]) -> list[Block]:
    return [
        Bullets(
            [
                *pool_size(run, rows),
                *no_pool(run, rows),
                *pre_ping(run, rows),
                *event_loop(run, rows),
                *reset(run, rows),
                *exhaustion(run, rows),
            ]
        )
    ]


def compare(
    run: Run, rows: list[Row], config: str, against: str, kind: str = "get"
) -> list[tuple[str, int, Row, Row]]:
    """(implementation, workers, row under ``config``, row under ``against``) for each
    implementation and worker count that ran both."""
    found = []
    for row in rows:
        own = concurrency(row)
        if own["config"] != config or workload(row) != kind:
            continue
        other = one(rows, row["implementation"], against, kind, own["workers"])
        if other is not None:
            found.append((row["implementation"], own["workers"], row, other))
    return sorted(found, key=lambda f: (f[1], run.implementation_rank(f[0])))


def ratio_list(found: list[tuple[str, int, Row, Row]]) -> str:
    return "; ".join(
        f"`{name}` {times(row['ops_per_s'] / other['ops_per_s'])}"
        for name, _, row, other in found
        if other["ops_per_s"] > 0
    )


def by_workers(
    found: list[tuple[str, int, Row, Row]],
) -> dict[int, list[tuple[str, int, Row, Row]]]:
    grouped: dict[int, list[tuple[str, int, Row, Row]]] = {}
    for item in found:
        grouped.setdefault(item[1], []).append(item)
    return grouped


def middle(found: list[tuple[str, int, Row, Row]]) -> float | None:
    values = [r["ops_per_s"] / o["ops_per_s"] for _, _, r, o in found if o["ops_per_s"] > 0]
    return statistics.median(values) if values else None


def pool_size(run: Run, rows: list[Row]) -> list[str]:
    lines = []
    for workers, found in by_workers(compare(run, rows, "sized", "parity")).items():
        waits = [
            (name, concurrency(other)["pool_wait_p95_s"], concurrency(row)["pool_wait_p95_s"])
            for name, _, row, other in found
        ]
        ratio = middle(found)
        verdict = (
            f"worth it: a median {times(ratio)} the throughput"
            if ratio and ratio > 1.1
            else "not worth it for throughput here"
        )
        lines.append(
            f"**Pool size, {workers} workers**: a pool of {workers} against the parity 10 is "
            f"{verdict} ({ratio_list(found)}); the p95 wait for a connection goes "
            + "; ".join(f"`{n}` {duration(a)} → {duration(b)}" for n, a, b in waits)
            + ". A pool as large as the workers ends the wait for a connection; whether it adds "
            "throughput depends on whether the pool was the bottleneck, not the cores the "
            "client and PostgreSQL share."
        )
    for workers, found in by_workers(compare(run, rows, "default", "parity")).items():
        ceilings = ", ".join(
            f"`{name}` {concurrency(row).get('pool_ceiling')}" for name, _, row, _ in found
        )
        lines.append(
            f"**Library defaults, {workers} workers** (ceilings {ceilings}): throughput against "
            f"the parity pool {ratio_list(found)}. SQLAlchemy's 5 + 10 overflow opens and closes "
            "its overflow connections under load (connections per 1,000 operations above)."
        )
    return lines


def no_pool(run: Run, rows: list[Row]) -> list[str]:
    lines = []
    for workers, found in by_workers(compare(run, rows, "no_pool", "parity")).items():
        ratio = middle(found)
        lines.append(
            f"**No pool, {workers} workers**: a new connection per operation runs at "
            f"{ratio_list(found)} of the pooled throughput (median {times(ratio or 0)}); "
            "getting the connection alone costs p50 "
            + "; ".join(
                f"`{n}` {duration(concurrency(r)['pool_wait_p50_s'])}" for n, _, r, _ in found
            )
            + ". Use a pool unless something in front of PostgreSQL pools for you."
        )
    for workers, found in by_workers(compare(run, rows, "pgbouncer_no_pool", "no_pool")).items():
        lines.append(
            f"**No pool through PgBouncer, {workers} workers**: against no pool straight to "
            f"PostgreSQL, {ratio_list(found)}: PgBouncer keeps the server connections, so a "
            "connection per operation costs a cheap handshake with it instead of a new backend."
        )
    for workers, found in by_workers(compare(run, rows, "pgbouncer", "parity")).items():
        lines.append(
            f"**Parity pool through PgBouncer, {workers} workers**: against the same pool "
            f"straight to PostgreSQL, {ratio_list(found)} (one more hop; asyncpg's statement "
            "cache off, as transaction mode requires)."
        )
    return lines


def pre_ping(run: Run, rows: list[Row]) -> list[str]:
    lines = []
    for workers, found in by_workers(compare(run, rows, "pre_ping", "parity")).items():
        extra = "; ".join(
            f"`{n}` +{count(r['round_trips_per_op'] - o['round_trips_per_op'])}"
            for n, _, r, o in found
        )
        lines.append(
            f"**pool_pre_ping, {workers} workers**: {ratio_list(found)} of the throughput without "
            f"it; round trips per operation {extra}: what it costs per checkout to find a dead "
            "connection before a query does."
        )
    return lines


def event_loop(run: Run, rows: list[Row]) -> list[str]:
    lines = []
    for workers, found in by_workers(compare(run, rows, "uvloop", "parity")).items():
        lines.append(
            f"**uvloop, {workers} workers**: against asyncio's loop, {ratio_list(found)}. "
            "`uvicorn[standard]` runs uvloop; the ratio is what an async app gains from it."
        )
    return lines


def reset(run: Run, rows: list[Row]) -> list[str]:
    lines = []
    for workers, found in by_workers(compare(run, rows, "no_reset", "parity")).items():
        lines.append(
            f"**asyncpg's reset on release off, {workers} workers**: {ratio_list(found)}, one "
            "round trip less per checkout; the price is that session state one request leaves "
            "(SET, LISTEN, advisory locks) is met by the next."
        )
    return lines


def exhaustion(run: Run, rows: list[Row]) -> list[str]:
    lines = []
    for row in sorted(
        rows_of(run, config="exhausted"),
        key=lambda r: (
            concurrency(r)["workers"],
            workload(r),
            run.implementation_rank(r["implementation"]),
        ),
    ):
        own = concurrency(row)
        if row["implementation"] != run.implementations[0]:
            continue
        same = [
            r
            for r in rows_of(run, config="exhausted", workers=own["workers"])
            if workload(r) == workload(row)
        ]
        lines.append(
            f"**Exhausted pool ({own['pool_ceiling']} connections), {own['workers']} workers, "
            f"{WORKLOADS[workload(row)]}**: timed out "
            + "; ".join(
                f"`{r['implementation']}` {concurrency(r)['timeouts']} of "
                f"{concurrency(r)['operations']}"
                for r in same
            )
            + ". A timeout is an answer in bounded time; Tortoise never times out a checkout, "
            "so its operations queue instead, and its p99 (table above) is the price."
        )
    return lines


# --- the headline finding ---------------------------------------------------------------------


def under_concurrency(run: Run) -> list[Block]:
    """Sync vs async under concurrency, beside the single-call answer (findings.py)."""
    if not rows_of(run):
        return [
            Paragraph(
                "Not measured in this run: it has no `pooling` rows "
                "(`ormbench bench --scenario pooling` runs them)."
            )
        ]
    rows = rows_of(run, config="parity")
    if not rows:
        return [
            Paragraph("Cannot be computed: this run has no `pooling` rows with the parity pool.")
        ]
    workers = sorted({concurrency(r)["workers"] for r in rows})
    blocks: list[Block] = [
        Paragraph(
            "Operations per second of the async implementation over its sync counterpart, W "
            "workers at once on the parity pool (10 connections): threads for sync, tasks on "
            "one event loop for async. Above 1, async did more work per second. At 1 worker "
            "this is the single-call ratio, in the same run."
        )
    ]
    for kind, name in WORKLOADS.items():
        lines = []
        for fast, slow in PAIRS:
            cells = []
            for w in workers:
                a, s = one(rows, fast, "parity", kind, w), one(rows, slow, "parity", kind, w)
                ok = a is not None and s is not None and s["ops_per_s"] > 0
                cells.append(times(a["ops_per_s"] / s["ops_per_s"]) if ok else "n/a")  # type: ignore[index]
            lines.append([f"`{fast}` / `{slow}`", *cells])
        blocks += [
            Paragraph(f"{name.capitalize()}:"),
            Table(
                ["", *(f"{w} workers" for w in workers)],
                lines,
                numeric=tuple(range(1, len(workers) + 1)),
            ),
        ]
    blocks.append(Paragraph(verdict(rows, workers)))
    return blocks


def verdict(rows: list[Row], workers: list[int]) -> str:
    top = workers[-1]
    parts = []
    for fast, slow in PAIRS[:2]:
        single = (
            one(rows, fast, "parity", "get", workers[0]),
            one(rows, slow, "parity", "get", workers[0]),
        )
        loaded = one(rows, fast, "parity", "get", top), one(rows, slow, "parity", "get", top)
        if None in single or None in loaded:
            continue
        at_one = single[0]["ops_per_s"] / single[1]["ops_per_s"]  # type: ignore[index]
        at_top = loaded[0]["ops_per_s"] / loaded[1]["ops_per_s"]  # type: ignore[index]
        word = "faster" if at_top > 1 else "slower"
        parts.append(
            f"`{fast}` against `{slow}`: {times(at_one)} one call at a time, {times(at_top)} at "
            f"{top} workers ({word})"
        )
    if not parts:
        return "Not enough rows for a verdict."
    return (
        "For get by id, "
        + "; ".join(parts)
        + ". Both run in one Python process on this machine's cores, sharing them with "
        "PostgreSQL: the sync threads wait on the GIL as much as on the database, the event "
        "loop has no threads to switch between, and neither can use a second core. Under load, "
        "what decides is the client CPU per operation (the table's CPU column), not sync or "
        "async as such; to use more cores, run more uvicorn workers, each with its own pool."
    )
