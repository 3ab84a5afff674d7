"""The regression check: more SQL or round trips fail and are named; slower fails only once
confirmed by running the scenario again.

The first tests drive ``benchmarks.check`` with small results documents; the last ones run
the real thing, ``ormbench baseline update`` and ``ormbench check`` on the crud scenario, and
show that the gate passes identical code and fails a row made 1.5x slower inside its timed
call (the test-only hook of ``benchmarks/timing.py``).
"""

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from benchmarks import check, results

ORMBENCH = str(Path(sys.executable).with_name("ormbench"))
PARAMS = {"users": 100, "tasks_per_user": 10}
ENTITY = "`crud` / `get_entity` / `sync_sqlalchemy` (users=100, tasks_per_user=10)"


def row(variant: str, implementation: str, wall: float, cpu: float, **extra: Any) -> dict:
    return {
        "scenario": "crud",
        "variant": variant,
        "implementation": implementation,
        "operation": "get_user",
        "mode": "sync",
        "params": PARAMS,
        "rounds": 5,
        "median_s": wall,
        "cpu_median_s": cpu,
        "p95_s": wall,
        "iqr_s": 0.0,
        "ops_per_s": 1 / wall,
        "queries_per_op": 1,
        "round_trips_per_op": 3 if implementation == "sync_sqlalchemy" else 1,
        "rows_per_op": 1,
        "floor_ratio": None,
        "floor": {"variant": "get_by_sql", "implementation": "raw_psycopg2"},
        "samples_s": [wall],
        **extra,
    }


def document(wall: float = 300e-6, cpu: float = 200e-6, **extra: Any) -> dict:
    rows = [
        row("get_entity", "sync_sqlalchemy", wall, cpu, **extra),
        row("get_by_sql", "raw_psycopg2", 100e-6, 40e-6),
    ]
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


BASELINE = document()


def test_identical_files_pass_with_nothing_to_confirm() -> None:
    outcome = check.compare(BASELINE, copy.deepcopy(BASELINE), check.DEFAULT_SCREEN)
    assert outcome.passed
    assert (outcome.compared, outcome.timing_compared) == (2, 1)
    assert outcome.suspects == outcome.failures == outcome.missing == []


def test_one_more_statement_fails_and_names_the_row() -> None:
    outcome = check.compare(BASELINE, document(queries_per_op=2), check.DEFAULT_SCREEN)
    [failure] = outcome.failures
    assert ENTITY in failure
    assert "2 statements per call, was 1" in failure


def test_one_more_round_trip_fails_and_a_stray_prepare_does_not() -> None:
    more = check.compare(BASELINE, document(round_trips_per_op=4), check.DEFAULT_SCREEN)
    [failure] = more.failures
    assert "4 round trips per call, was 3" in failure
    stray = check.compare(BASELINE, document(round_trips_per_op=3.01), check.DEFAULT_SCREEN)
    assert stray.passed


def test_fewer_statements_pass_and_ask_for_a_baseline_update() -> None:
    base = document(queries_per_op=2)
    outcome = check.compare(base, BASELINE, check.DEFAULT_SCREEN)
    assert outcome.passed
    [improvement] = outcome.improvements
    assert "baseline update" in improvement


def test_a_slower_row_is_only_a_suspect_until_confirmed() -> None:
    outcome = check.compare(BASELINE, document(wall=450e-6, cpu=300e-6), check.DEFAULT_SCREEN)
    assert outcome.passed  # nothing decided yet
    [suspect] = outcome.suspects
    assert suspect.key == results.row_key(BASELINE["results"][0])
    assert check.to_rerun(outcome.suspects) == [("crud", PARAMS)]


def test_a_confirmed_slowdown_fails_and_an_unconfirmed_one_is_noise() -> None:
    slower = document(wall=450e-6, cpu=300e-6)
    confirmed = check.compare(BASELINE, slower, check.DEFAULT_SCREEN)
    check.confirm(confirmed, [slower["results"]] * 3)
    [failure] = confirmed.failures
    assert ENTITY in failure
    assert "confirmed on cpu time and wall time" in failure

    cleared = check.compare(BASELINE, slower, check.DEFAULT_SCREEN)
    check.confirm(cleared, [BASELINE["results"], slower["results"], BASELINE["results"]])
    assert cleared.passed  # the median of the three runs is the baseline's
    [noise] = cleared.noise
    assert ENTITY in noise


def test_cpu_alone_can_fail_a_row_wall_time_barely_moved() -> None:
    # 30% more client CPU, wall time within its wider margin: the ORM does more work.
    busier = document(wall=330e-6, cpu=260e-6)
    outcome = check.compare(BASELINE, busier, check.DEFAULT_SCREEN)
    check.confirm(outcome, [busier["results"]])
    [failure] = outcome.failures
    assert "confirmed on cpu time" in failure
    assert "wall time" not in failure.split("**")[1]


def test_the_baseline_holds_a_row_to_the_worst_of_its_identical_runs() -> None:
    noisy = document(wall=450e-6, cpu=300e-6)
    base = copy.deepcopy(BASELINE)
    check.add_baseline_ratios(base, [BASELINE, noisy])
    assert base["results"][0][check.BASELINE_RATIOS]["wall"] == pytest.approx([3.0, 4.5])
    results.validate(base)
    outcome = check.compare(base, noisy, check.DEFAULT_SCREEN)
    assert outcome.suspects == []


def test_a_row_that_cannot_be_run_again_fails() -> None:
    outcome = check.compare(BASELINE, document(wall=600e-6, cpu=400e-6), check.DEFAULT_SCREEN)
    check.confirm(outcome, [[]])
    [failure] = outcome.failures
    assert "could not be measured again" in failure


def test_rows_on_one_side_only_are_listed() -> None:
    current = copy.deepcopy(BASELINE)
    current["results"].append(row("get_columns", "sync_sqlalchemy", 250e-6, 150e-6))
    outcome = check.compare(BASELINE, current, check.DEFAULT_SCREEN)
    assert outcome.passed
    [missing] = outcome.missing
    assert "get_columns" in missing
    assert "new in this run" in missing


def test_markdown_summary_reads_on_its_own() -> None:
    outcome = check.compare(BASELINE, document(queries_per_op=2), check.DEFAULT_SCREEN)
    text = check.render(outcome, "benchmarks/baseline.json")
    assert text.startswith("# ormbench check: **FAILED**")
    assert "## Failures" in text
    assert "benchmarks/baseline.json" in text


def test_cli_exit_codes_and_summary_file(tmp_path: Path) -> None:
    base, worse = tmp_path / "base.json", tmp_path / "worse.json"
    base.write_text(json.dumps(BASELINE))
    worse.write_text(json.dumps(document(queries_per_op=2)))

    def run(current: Path) -> subprocess.CompletedProcess[str]:
        arguments = ["check", "--baseline", str(base), "--results", str(current)]
        return ormbench(*arguments, "--summary", str(tmp_path / "check.md"), cwd=tmp_path)

    assert run(base).returncode == 0
    failed = run(worse)
    assert failed.returncode == 1
    assert "**FAILED**" in failed.stdout
    assert (tmp_path / "check.md").read_text().startswith("# ormbench check: **FAILED**")


# --- the gate, for real: the crud scenario, run by the CLI -----------------------------------


def ormbench(
    *arguments: str, cwd: Path, slowdown: str | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "ORMBENCH_TEST_SLOWDOWN"}
    if slowdown:
        environment["ORMBENCH_TEST_SLOWDOWN"] = slowdown
    return subprocess.run(
        [ORMBENCH, *arguments],
        capture_output=True,
        text=True,
        timeout=900,  # a bound, not a timing: a run of crud takes seconds
        cwd=cwd,
        env=environment,
        check=False,
    )


@pytest.fixture(scope="module")
def crud_baseline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A baseline of the crud scenario on quick data, from three identical runs."""
    folder = tmp_path_factory.mktemp("gate")
    baseline = folder / "baseline.json"
    made = ormbench(
        "baseline", "update", "--scenario", "crud", "--runs", "3", "--out", str(baseline),
        cwd=folder,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr[-3000:]
    return baseline


def test_the_same_code_run_again_passes(crud_baseline: Path) -> None:
    checked = ormbench("check", "--baseline", str(crud_baseline), cwd=crud_baseline.parent)
    assert checked.returncode == 0, checked.stdout[-4000:] + checked.stderr[-2000:]
    assert "# ormbench check: **passed**" in checked.stdout


def test_a_row_made_half_again_slower_fails_and_is_named(crud_baseline: Path) -> None:
    checked = ormbench(
        "check", "--baseline", str(crud_baseline), cwd=crud_baseline.parent,
        slowdown="crud/get_entity/sync_sqlalchemy=1.5",
    )  # fmt: skip
    if "**Time not judged**" in checked.stdout:
        # The probe says the machine is busier than when the fixture's baseline was made
        # (other work on it): the gate declines to judge time, as it should. Say so.
        pytest.skip("the machine was too busy for the check to judge time (its probe said so)")
    assert checked.returncode == 1, checked.stdout[-4000:] + checked.stderr[-2000:]
    failures = checked.stdout.split("## Failures")[1].split("\n## ")[0]
    assert ENTITY in failures
    assert "slower relative to the floors" in failures
    # Only the row that was slowed down: nothing else is blamed.
    assert failures.count("- `") == 1, failures


def test_time_is_not_judged_on_a_machine_busier_than_the_baselines() -> None:
    base = copy.deepcopy(BASELINE)
    base["meta"]["probe"] = {"round_trip_s": 60e-6, "cpu_share": 0.98}
    slower = document(wall=600e-6, cpu=400e-6)
    slower["meta"]["probe"] = {"round_trip_s": 61e-6, "cpu_share": 0.45}
    busy = check.compare(base, slower, check.DEFAULT_SCREEN)
    assert busy.suspects == []  # a doubling, but the harness got half the CPU: not judged
    assert "the harness got 0.46x the share of the CPU" in (busy.busy or "")
    assert "Time not judged" in check.render(busy, "base.json")
    slower["meta"]["probe"] = {"round_trip_s": 62e-6, "cpu_share": 0.97}
    quiet = check.compare(base, slower, check.DEFAULT_SCREEN)
    assert quiet.busy is None
    assert len(quiet.suspects) == 1
    busy_counts = check.compare(base, document(queries_per_op=2), check.DEFAULT_SCREEN)
    assert busy_counts.failures  # counts are judged whatever the machine
