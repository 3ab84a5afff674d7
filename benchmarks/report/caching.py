"""The caching family's report blocks: per params set, what each way of caching answered (hit
ratio, statements, time per call, stale reads, wrong answers), the stampede, the two
processes, and notes computed from those rows: what the numbers mean and what to do.

The mean time per call is the figure for a cache: it is the total a workload spends divided
by its calls, misses and writes included. The median of a mix of hits and misses is a hit's
time or a miss's, as the hit ratio falls either side of one half, and says little.
"""

from typing import Any

from benchmarks.report.blocks import Block, Bullets, Heading, Paragraph, Table
from benchmarks.report.charts import ChartPath
from benchmarks.report.formatting import (
    Row,
    compared,
    count,
    duration,
    is_wrong,
    significant,
)
from benchmarks.report.rows import Run
from benchmarks.report.sections import register_section

SCENARIO = "caching"
MIX = ("no_cache", "seed_decorator", "ttl_only", "in_process", "redis")
STAMPEDE = ("stampede_unguarded", "stampede_single_flight")
TWO_WORKERS = ("two_workers_in_process", "two_workers_redis")
CACHES = ("in_process", "redis")  # the ways that are right and cache: the gain to report


def _mean(row: Row) -> float:
    return float(row.get("mean_s", row["median_s"]))


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def _rows(run: Run, params: dict[str, Any], variants: tuple[str, ...]) -> list[Row]:
    return [r for r in run.sorted_rows(SCENARIO, params) if r["variant"] in variants]


def _by(rows: list[Row], variant: str) -> dict[str, Row]:
    return {r["implementation"]: r for r in rows if r["variant"] == variant}


def _answers(row: Row) -> str:
    return f"{row.get('stale_reads', 0):,} / {row.get('wrong_answers', 0):,}"


def mix_table(run: Run, params: dict[str, Any]) -> Table | None:
    rows = _rows(run, params, MIX + TWO_WORKERS)
    if not rows:
        return None
    uncached = _by(rows, "no_cache")
    lines = []
    for row in rows:
        base = uncached.get(row["implementation"])
        gain = "n/a"
        if is_wrong(row):
            gain = "wrong, not fast"
        elif base is not None and row["variant"] != "no_cache":
            gain = compared(_mean(row), _mean(base))
        lines.append(
            [
                run.label(SCENARIO, row["variant"]),
                row["implementation"],
                _percent(row.get("hit_ratio")),
                count(row["queries_per_op"]),
                "" if is_wrong(row) else duration(_mean(row)),
                "" if is_wrong(row) else duration(row["median_s"]),
                gain,
                f"{row.get('reads', 0):,}",
                _answers(row),
            ]
        )
    return Table(
        [
            "way",
            "implementation",
            "hit ratio",
            "statements/call",
            "mean/call",
            "median",
            "mean against no cache",
            "reads",
            "stale / wrong",
        ],
        lines,
        numeric=(2, 3, 4, 5, 6, 7),
    )


def stampede_table(run: Run, params: dict[str, Any]) -> Table | None:
    rows = _rows(run, params, STAMPEDE)
    unguarded, guarded = _by(rows, STAMPEDE[0]), _by(rows, STAMPEDE[1])
    names = [name for name in run.implementations if name in unguarded and name in guarded]
    if not names:
        return None
    return Table(
        [
            "implementation",
            "statements per burst, no guard",
            "single flight",
            "burst time, no guard",
            "single flight",
        ],
        [
            [
                name,
                count(unguarded[name]["queries_per_op"]),
                count(guarded[name]["queries_per_op"]),
                duration(unguarded[name]["median_s"]),
                duration(guarded[name]["median_s"]),
            ]
            for name in names
        ],
        numeric=(1, 2, 3, 4),
    )


def _total(rows: list[Row], field: str) -> int:
    return sum(int(r.get(field, 0)) for r in rows)


def _span(values: list[float], text: Any) -> str:
    if not values:
        return "n/a"
    low, high = min(values), max(values)
    return text(low) if text(low) == text(high) else f"{text(low)} to {text(high)}"


def _faster(gains: list[float]) -> str:
    """Ratios no cache / cache as "2.00x to 3.00x faster", or "from 1.07x slower to ..."."""
    if not gains:
        return "n/a"

    def one(gain: float) -> str:
        return compared(1 / gain, 1)

    low, high = min(gains), max(gains)
    if one(low) == one(high):
        return one(low)
    if low >= 1:
        return f"{significant(low)}\u00d7 to {one(high)}"
    return f"from {one(low)} to {one(high)}"


def cache_note(run: Run, rows: list[Row], variant: str) -> str | None:
    """Hit ratio, statements, mean time and a hit's time of one way of caching, against no
    cache, over the implementations."""
    uncached = _by(rows, "no_cache")
    own = [r for r in _by(rows, variant).values() if r["implementation"] in uncached]
    if not own:
        return None
    base = [uncached[r["implementation"]] for r in own]
    gains = [_mean(b) / _mean(r) for b, r in zip(base, own, strict=True)]
    hit_ratios = [r["hit_ratio"] for r in own if r.get("hit_ratio") is not None]
    hits = [r["hit_median_s"] for r in own if r.get("hit_median_s")]
    return (
        f"\u201c{run.label(SCENARIO, variant)}\u201d: hit ratio {_span(hit_ratios, _percent)}, "
        f"{_span([r['queries_per_op'] for r in own], count)} statements per call against "
        f"{_span([b['queries_per_op'] for b in base], count)} without a cache; mean time per "
        f"call {_faster(gains)} than without a cache ({_span([_mean(r) for r in own], duration)} "
        f"against {_span([_mean(b) for b in base], duration)}, misses and writes included); a "
        f"hit (median of the calls that sent no statement) {_span(hits, duration)} against a "
        f"query (median without a cache) {_span([b['median_s'] for b in base], duration)}; "
        f"{_total(own, 'stale_reads')} stale reads and {_total(own, 'wrong_answers')} wrong "
        f"answers in {_total(own, 'reads'):,} reads."
    )


def seed_note(rows: list[Row]) -> str | None:
    seeded = list(_by(rows, "seed_decorator").values())
    if not seeded:
        return None
    return (
        f"The seed's decorator answered {_total(seeded, 'wrong_answers'):,} of "
        f"{_total(seeded, 'reads'):,} reads with another user's data (and "
        f"{_total(seeded, 'stale_reads'):,} with old data): its key is the function's name, "
        "so the first answer is everyone's. Its speed is not a result; the tables show it as "
        "wrong."
    )


def ttl_note(rows: list[Row], params: dict[str, Any]) -> str | None:
    ttl = list(_by(rows, "ttl_only").values())
    if not ttl:
        return None
    return (
        f"Without invalidation (expiry after {params.get('ttl_s', '?')} s only): "
        f"{_total(ttl, 'stale_reads'):,} stale reads in {_total(ttl, 'reads'):,}: after a "
        "write, every hit on the writer's entries serves the old value until it expires."
    )


def stampede_note(rows: list[Row], params: dict[str, Any]) -> str | None:
    unguarded, guarded = _by(rows, STAMPEDE[0]), _by(rows, STAMPEDE[1])
    if not (unguarded and guarded):
        return None
    sent = {name: [r["queries_per_op"] for r in found.values()] for name, found in
            (("unguarded", unguarded), ("guarded", guarded))}  # fmt: skip
    return (
        f"Stampede, {params.get('readers', '?')} concurrent misses of one entry: "
        f"{_span(sent['unguarded'], count)} statements per burst without a guard, "
        f"{_span(sent['guarded'], count)} with single flight (the others wait for the first "
        "load)."
    )


def two_workers_note(rows: list[Row]) -> str | None:
    apart = list(_by(rows, TWO_WORKERS[0]).values())
    shared = list(_by(rows, TWO_WORKERS[1]).values())
    if not (apart and shared):
        return None
    return (
        f"Two processes on one database: with an in-process cache each, "
        f"{_total(apart, 'stale_reads'):,} stale reads in {_total(apart, 'reads'):,} (a write "
        "in one process invalidates only its own cache); with one Redis for both, "
        f"{_total(shared, 'stale_reads'):,} in {_total(shared, 'reads'):,}."
    )


def notes(run: Run, params: dict[str, Any]) -> list[str]:
    """What the rows of one params set say, each figure computed from them."""
    rows = run.sorted_rows(SCENARIO, params)
    found = [
        *(cache_note(run, rows, variant) for variant in CACHES),
        seed_note(rows),
        ttl_note(rows, params),
        stampede_note(rows, params),
        two_workers_note(rows),
    ]
    return [note for note in found if note]


ADVICE = [
    "Key a cache by everything that changes the answer (here the user id); a key that "
    "leaves an argument out serves one caller's data to another.",
    "Invalidate on every write that changes a cached answer, after its commit; a TTL alone "
    "bounds how long an answer is stale, it does not make it fresh. Where a write does not "
    "say whose data it changed, drop the whole namespace (a generation number) rather than "
    "guess.",
    "One process: an in-process cache (cachetools' TTLCache behind a lock) is the fastest "
    "hit. More than one worker or host: a shared cache (Redis), or every other process "
    "serves stale data after a write.",
    "Guard misses of hot entries with single flight, so that an expiry or a write costs one "
    "query rather than one per waiting request.",
    "Count before caching: a hit is worth the query it saves only if the hit ratio is high; "
    "a Redis hit is a network round trip, not free.",
]


def per_params(run: Run, scenario: str, params: dict[str, Any], _: ChartPath) -> list[Block]:
    blocks: list[Block] = [Heading(4, "Caches: what they answered")]
    table = mix_table(run, params)
    if table is not None:
        blocks += [
            Paragraph(
                "Per call of the read/write mix (the two-processes rows: half the calls "
                "answered by the second process, over a pipe). A hit sends no statement; a "
                "stale read returned an earlier value of the user's data; a wrong answer "
                "returned data the user never had."
            ),
            table,
        ]
    stampede = stampede_table(run, params)
    if stampede is not None:
        blocks += [Heading(4, "Stampede: many misses of one entry at once"), stampede]
    lines = notes(run, params)
    if lines:
        blocks += [Heading(4, "What the numbers mean"), Bullets(lines)]
    blocks += [Heading(4, "What to do"), Bullets(ADVICE)]
    return blocks


register_section(SCENARIO, per_params=per_params)
