"""The caching section of the report: a row with wrong answers is shown as wrong, never as
fast; the notes give hit ratio, gain, stampede statements and stale reads across processes,
each computed from the rows (chosen here, so the figures are known in advance)."""

from pathlib import Path
from typing import Any

import scenarios
from benchmarks import results
from benchmarks.check import compare
from benchmarks.report import write_report
from implementations import IMPLEMENTATIONS
from tests.engine.test_report import add_floor_ratios, row

caching = scenarios.load("caching")
PARAMS = caching.PARAMS["quick"][0]
# variant -> (mean, median, statements per call, reads, hits, stale, wrong)
FIGURES = {
    "no_cache": (500e-6, 450e-6, 1.1, 1000, 0, 0, 0),
    "seed_decorator": (20e-6, 0.5e-6, 0.05, 1000, 1000, 10, 900),
    "ttl_only": (90e-6, 5e-6, 0.2, 1000, 900, 40, 0),
    "in_process": (100e-6, 5e-6, 0.3, 1000, 800, 0, 0),
    "redis": (200e-6, 100e-6, 0.3, 1000, 800, 0, 0),
    "stampede_unguarded": (5e-3, 5e-3, 10, 100, 0, 0, 0),
    "stampede_single_flight": (1e-3, 1e-3, 1, 100, 90, 0, 0),
    "two_workers_in_process": (150e-6, 50e-6, 0.3, 500, 400, 12, 0),
    "two_workers_redis": (250e-6, 150e-6, 0.3, 500, 400, 0, 0),
}


def caching_rows() -> list[dict[str, Any]]:
    rows = []
    for index, variant in enumerate(caching.VARIANTS):
        mean, median, sent, reads, hits, stale, wrong = FIGURES[variant.name]
        for implementation in IMPLEMENTATIONS:
            made = row("caching", index, variant, implementation, PARAMS)
            made.update(
                mean_s=mean,
                median_s=median,
                p95_s=mean * 3,
                ops_per_s=1 / median,
                samples_s=[median] * 3,
                cpu_median_s=median / 2,
                queries_per_op=sent,
                queries_vary=not float(sent).is_integer(),
                reads=reads,
                hits=hits,
                hit_ratio=hits / reads,
                hit_median_s=median if hits else None,
                stale_reads=stale,
                wrong_answers=wrong,
            )
            rows.append(made)
    add_floor_ratios(rows)
    return rows


def document() -> dict[str, Any]:
    return {
        "meta": {
            "started_at": "2026-11-25T00:00:00Z",
            "git_commit": "test",
            "python": "3.11",
            "postgres": "PostgreSQL 18",
            "packages": {},
            "machine": {},
            "profile": "quick",
            "database": "embedded",
            "redis": {"provider": "embedded", "version": "Redis 6.2.14"},
        },
        "results": caching_rows(),
        "not_applicable": [],
    }


def test_the_seed_decorator_is_reported_wrong_not_fast(tmp_path: Path) -> None:
    results.write(document(), tmp_path / "results.json")
    written = write_report(tmp_path)
    text = (tmp_path / "report.md").read_text()
    assert "**wrong: 900 of 1,000 answers**" in text
    assert "500 ns" not in text  # the seed's median is nowhere
    assert "wrong, not fast" in text
    assert tmp_path / "chart-caching-1.png" in written


def test_the_notes_give_the_figures_the_issue_asks_for(tmp_path: Path) -> None:
    results.write(document(), tmp_path / "results.json")
    write_report(tmp_path)
    text = " ".join((tmp_path / "report.md").read_text().split())
    # Hit ratio and the gain in mean time per call, against no cache.
    assert "hit ratio 80%" in text
    assert "mean time per call 5.00\u00d7 faster than without a cache" in text
    assert "a hit (median of the calls that sent no statement) 5.00 µs against a query" in text
    assert "(median without a cache) 450 µs" in text
    assert "0 stale reads and 0 wrong answers in 5,000 reads" in text
    # The stampede, with and without the guard.
    assert "10 statements per burst without a guard, 1 with single flight" in text
    # Stale reads across two processes, in-process caches against one Redis.
    assert "60 stale reads in 2,500" in text
    assert "with one Redis for both, 0 in 2,500" in text
    assert "4,500 of 5,000 reads with another user's data" in text
    assert "Redis 6.2.14 (embedded)" in text


def test_the_regression_check_does_not_time_wrong_or_varying_rows() -> None:
    base = document()
    current = document()
    for each in current["results"]:
        if each["implementation"] == "sync_sqlalchemy":  # every row of one ORM 10x slower ...
            each["median_s"] *= 10
            each["cpu_median_s"] *= 10
    outcome = compare(base, current, screen=1.15)
    timed = {s.row["variant"] for s in outcome.suspects}
    # ... but a wrong row's time is no figure, and a cache's median moves with its hit mix.
    assert timed == {"stampede_unguarded", "stampede_single_flight"}


def test_a_cache_whose_hit_ratio_fell_past_the_band_fails() -> None:
    base, current = document(), document()
    for each in current["results"]:
        if each["variant"] == "in_process" and each["implementation"] == "raw_psycopg2":
            each.update(queries_per_op=1.05, hit_ratio=0.0)  # the cache stopped hitting
        if each["variant"] == "redis" and each["implementation"] == "raw_psycopg2":
            each.update(queries_per_op=0.35, hit_ratio=0.7)  # a few more misses: the hit mix
        if each["variant"] == "stampede_unguarded":
            each.update(queries_per_op=1.5, hit_ratio=0.9)  # a race won by the first miss
    outcome = compare(base, current, screen=1.15)
    failed = " ".join(outcome.failures)
    assert "`in_process` / `raw_psycopg2`" in failed
    assert "hit ratio 0%, was 80%" in failed
    assert "`redis`" not in failed
    assert "stampede" not in failed
    ungated = " ".join(outcome.ungated)
    assert "`stampede_unguarded`" in ungated
    assert "race" in ungated
    assert "`in_process`" not in ungated  # gated on its hit ratio, not listed as ungated


def test_other_varying_counts_are_held_to_a_band() -> None:
    base, current = document(), document()
    for document_ in (base, current):
        for each in document_["results"]:
            if each["variant"] == "no_cache":
                each.update(hit_ratio=None, round_trips_per_op=2.01, round_trips_vary=True)
    for each in current["results"]:
        if each["variant"] == "no_cache" and each["implementation"] == "tortoise":
            each["round_trips_per_op"] = 3.0  # a new exchange on every call
        if each["variant"] == "no_cache" and each["implementation"] == "raw_asyncpg":
            each["round_trips_per_op"] = 2.1  # the odd extra prepare
    failed = " ".join(compare(base, current, screen=1.15).failures)
    assert "`no_cache` / `tortoise`" in failed
    assert "`raw_asyncpg`" not in failed
