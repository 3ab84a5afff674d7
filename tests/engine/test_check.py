"""The regression check: more SQL fails and is named; slower fails only when significant."""

import copy
import json
import random
import subprocess
import sys
from pathlib import Path
from statistics import median

import pytest

from benchmarks import check, results

ORMBENCH = str(Path(sys.executable).with_name("ormbench"))
PARAMS = {"users": 100, "tasks_per_user": 10}


def samples(center: float, spread: float, count: int = 60, seed: int = 1) -> list[float]:
    rng = random.Random(seed)
    return [center * (1 + rng.uniform(-spread, spread)) for _ in range(count)]


def row(variant: str, implementation: str, values: list[float], statements: int) -> dict:
    return {
        "scenario": "crud",
        "variant": variant,
        "implementation": implementation,
        "operation": "get_user",
        "mode": "sync",
        "params": PARAMS,
        "rounds": 5,
        "median_s": median(values),
        "p95_s": max(values),
        "iqr_s": 0.0,
        "ops_per_s": 1 / median(values),
        "queries_per_op": statements,
        "rows_per_op": 1,
        "floor_ratio": None,
        "floor": {"variant": "get_by_sql", "implementation": "raw_psycopg2"},
        "samples_s": values,
        # rounds of five calls: the unit the significance test compares
        "round_medians_s": [median(values[i : i + 5]) for i in range(0, len(values), 5)],
    }


def document(entity_samples: list[float], statements: int = 1, extra: bool = False) -> dict:
    rows = [
        row("get_entity", "sync_sqlalchemy", entity_samples, statements),
        row("get_by_sql", "raw_psycopg2", samples(100e-6, 0.05, seed=2), 1),
    ]
    if extra:
        rows.append(row("get_columns", "sync_sqlalchemy", samples(250e-6, 0.05), 1))
    for r in rows:
        r["floor_ratio"] = r["median_s"] / rows[1]["median_s"]
    doc = {
        "meta": {
            "started_at": "2026-11-25T00:00:00Z",
            "git_commit": "x",
            "python": "3.11",
            "postgres": "PostgreSQL 18.6",
            "packages": {},
            "machine": {},
            "profile": "quick",
            "database": "embedded",
        },
        "results": rows,
    }
    results.validate(doc)
    return doc


BASELINE = document(samples(300e-6, 0.05))


def test_identical_files_pass() -> None:
    outcome = check.compare(BASELINE, copy.deepcopy(BASELINE))
    assert outcome.passed
    assert (outcome.compared, outcome.timing_compared) == (2, 1)
    assert outcome.failures == outcome.noise == outcome.missing == outcome.improvements == []


def test_one_more_statement_fails_and_names_the_row() -> None:
    outcome = check.compare(BASELINE, document(samples(300e-6, 0.05), statements=2))
    assert not outcome.passed
    [failure] = outcome.failures
    assert "`crud` / `get_entity` / `sync_sqlalchemy`" in failure
    assert "2 statements per call, was 1" in failure


def test_fewer_statements_pass_and_ask_for_a_baseline_update() -> None:
    more = document(samples(300e-6, 0.05), statements=3)
    outcome = check.compare(more, BASELINE)
    assert outcome.passed
    assert "ormbench baseline update" in outcome.improvements[0]


def test_a_doubled_floor_ratio_with_consistent_samples_fails() -> None:
    outcome = check.compare(BASELINE, document(samples(600e-6, 0.05, seed=3)))
    assert not outcome.passed
    [failure] = outcome.failures
    assert "slower relative to its floor" in failure
    assert "floor_ratio 2.97 → 6.02 (2.03x)" in failure
    assert "p = " in failure


def test_a_shift_inside_rounds_is_not_mistaken_for_many_independent_calls() -> None:
    # 60 calls, but only 2 rounds: the test has too little to go on and calls it noise.
    before, after = samples(300e-6, 0.05, seed=5), samples(600e-6, 0.05, seed=6)
    old, new = document(before), document(after)
    for doc, values in ((old, before), (new, after)):
        doc["results"][0]["round_medians_s"] = [median(values[:30]), median(values[30:])]
    outcome = check.compare(old, new)
    assert outcome.passed
    assert "treated as noise" in outcome.noise[0]


def test_a_doubling_with_wildly_noisy_samples_is_noise() -> None:
    noisy_before = [v * 1e-6 for v in (100, 150, 200, 400, 800, 1600, 3200, 6400)]
    noisy_after = [v * 1e-6 for v in (100, 200, 300, 800, 1600, 3200, 6400, 12800)]
    outcome = check.compare(document(noisy_before), document(noisy_after))
    assert outcome.passed
    [noise] = outcome.noise
    assert "(2.00x)" in noise
    assert "treated as noise" in noise


def test_a_change_within_the_factor_is_not_even_tested() -> None:
    outcome = check.compare(BASELINE, document(samples(360e-6, 0.01, seed=4)))  # 1.2x
    assert outcome.passed
    assert not outcome.noise


def test_rows_on_one_side_only_are_listed() -> None:
    outcome = check.compare(document(samples(300e-6, 0.05), extra=True), BASELINE)
    assert outcome.passed
    assert any("get_columns" in m and "not in this run" in m for m in outcome.missing)
    outcome = check.compare(BASELINE, document(samples(300e-6, 0.05), extra=True))
    assert any("get_columns" in m and "not in the baseline" in m for m in outcome.missing)


def test_mann_whitney_against_known_values() -> None:
    # Fully separated groups of 10: exact two-sided p = 2/C(20,10) ~ 1.1e-5; the normal
    # approximation lands within an order of magnitude, far below any alpha in use.
    assert check.mann_whitney_p(list(range(10)), list(range(10, 20))) < 1e-3
    assert check.mann_whitney_p([1, 2, 3], [1, 2, 3]) == pytest.approx(1.0, abs=0.2)


def test_markdown_summary_reads_on_its_own() -> None:
    outcome = check.compare(BASELINE, document(samples(300e-6, 0.05), statements=2))
    text = check.render(outcome, 1.25, 0.01, "benchmarks/baseline.json")
    assert text.startswith("# ormbench check: **FAILED**")
    assert "## Failures" in text
    assert "2 statements per call, was 1" in text
    assert "benchmarks/baseline.json" in text


def test_cli_exit_codes_and_summary_file(tmp_path: Path) -> None:
    base, worse = tmp_path / "base.json", tmp_path / "worse.json"
    base.write_text(json.dumps(BASELINE))
    worse.write_text(json.dumps(document(samples(300e-6, 0.05), statements=2)))

    def run(current: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                ORMBENCH,
                "check",
                "--baseline",
                str(base),
                "--results",
                str(current),
                "--summary",
                str(tmp_path / "check.md"),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert run(base).returncode == 0
    failed = run(worse)
    assert failed.returncode == 1
    assert "**FAILED**" in failed.stdout
    assert (tmp_path / "check.md").read_text().startswith("# ormbench check: **FAILED**")


def many_rows(doubled: bool) -> dict:
    """110 rows like a quick run's: one (users=0) doubled or not, the rest unchanged."""
    doc = document(samples(300e-6, 0.05))
    floor = doc["results"][1]
    for users in range(1, 55):
        for variant, impl, center in (
            ("get_entity", "sync_sqlalchemy", 300e-6),
            ("get_by_sql", "raw_psycopg2", 100e-6),
        ):
            params = {"users": users, "tasks_per_user": 10}
            extra = row(variant, impl, samples(center, 0.05, seed=users), 1)
            extra["params"] = params
            extra["floor_ratio"] = extra["median_s"] / floor["median_s"]
            doc["results"].append(extra)
    if doubled:
        target = doc["results"][0]
        target["samples_s"] = [2 * s for s in target["samples_s"]]
        target["round_medians_s"] = [2 * s for s in target["round_medians_s"]]
        target["median_s"] *= 2
        target["floor_ratio"] *= 2
    return doc


def test_a_clear_regression_still_fails_among_a_hundred_rows() -> None:
    # Holm's correction divides alpha by the rows tested; twelve rounds all slower are
    # still far below that threshold.
    outcome = check.compare(many_rows(doubled=False), many_rows(doubled=True))
    assert outcome.timing_compared > 50
    [failure] = outcome.failures
    assert "`crud` / `get_entity` / `sync_sqlalchemy` (users=100" in failure
