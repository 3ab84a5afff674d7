"""``ormbench check`` and ``ormbench baseline update``: the regression gate of CI."""

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from benchmarks import probe
from benchmarks.check import (
    DEFAULT_CONFIRM_RUNS,
    DEFAULT_FACTOR,
    DEFAULT_SCREEN,
    DEFAULT_WALL_FACTOR,
)
from benchmarks.cli.bench import run_benchmark
from benchmarks.cli.common import Profile, Provider, app, choose, console, fail, progress_bars
from benchmarks.database import ProviderError, fresh_database, provide_server
from benchmarks.embedded import EmbeddedError
from benchmarks.redis_server import redis_for
from implementations import IMPLEMENTATIONS

BASELINE = Path("benchmarks") / "baseline.json"
BASELINE_SAMPLES = 60  # per row: enough for the significance test, small enough to commit


@app.command()
def check(
    baseline: Annotated[Path, typer.Option(help="a results.json to compare with")] = BASELINE,
    results: Annotated[
        Path | None, typer.Option(help="a results.json; default: run the quick profile now")
    ] = None,
    screen: Annotated[
        float, typer.Option(help="a ratio grown past this is measured again")
    ] = DEFAULT_SCREEN,
    factor: Annotated[
        float, typer.Option(help="fail when the confirmed CPU-time ratio grew past this")
    ] = DEFAULT_FACTOR,
    wall_factor: Annotated[
        float, typer.Option(help="fail when the confirmed wall-time ratio grew past this")
    ] = DEFAULT_WALL_FACTOR,
    confirm_runs: Annotated[
        int, typer.Option(min=1, help="runs of a suspect's scenario that confirm or clear it")
    ] = DEFAULT_CONFIRM_RUNS,
    summary: Annotated[
        Path | None, typer.Option(help="also write the Markdown summary here")
    ] = None,
    db: Provider = "auto",
) -> None:
    """Compare a run with the baseline: more SQL or round trips fail; slower fails once a
    rerun of its scenario confirms it."""
    from benchmarks import check as checking
    from benchmarks import results as results_file

    if not baseline.exists():
        raise fail(f"no baseline at {baseline}: create one with `ormbench baseline update`")
    base = results_file.read(baseline)
    out_dir = Path("results") / f"check-{time.strftime('%Y%m%d-%H%M%S')}"
    if results is None:
        current = run_benchmark(scenarios_in(base), impls_in(base), base["meta"]["profile"], db)
        results_file.write(current, out_dir / "results.json")
        summary = summary or out_dir / "check.md"
    else:
        current = results_file.read(results)
    outcome = checking.compare(base, current, screen)
    if outcome.suspects:
        console.print(f"{len(outcome.suspects)} rows look slower: running their scenarios again")
        reruns, probes = rerun(checking.to_rerun(outcome.suspects), current, confirm_runs, db)
        for number, rows in enumerate(reruns, start=1):  # kept, to see why a row was judged
            out_dir.mkdir(parents=True, exist_ok=True)
            (out_dir / f"rerun-{number}.json").write_text(json.dumps(rows, indent=1))
        busy = checking.busier(base, probe.summary(probes))
        if busy:
            checking.not_judged(outcome, f"while its scenarios ran again, {busy}")
        else:
            checking.confirm(outcome, reruns, factor, wall_factor)
    text = checking.render(outcome, str(baseline), screen, factor, wall_factor, confirm_runs)
    print(text)
    if summary is not None:
        summary.parent.mkdir(parents=True, exist_ok=True)
        summary.write_text(text + "\n")
        console.print(f"summary written to {summary}")
    raise typer.Exit(code=0 if outcome.passed else 1)


def rerun(
    wanted: list[tuple[str, dict[str, Any]]], current: dict[str, Any], runs: int, db: str
) -> tuple[list[list[dict[str, Any]]], list[dict[str, float]]]:
    """``runs`` lists of rows, and the machine's probes while they ran (probe.py): the
    ``wanted`` scenarios and params, each run again on a fresh
    database with the implementations of ``current``, each time with new pools: a run's
    connections are its own server processes, and one of them scheduled badly can slow one
    implementation's every call for as long as it lives, which is not the code's doing."""
    from benchmarks.runner import Runner

    reruns: list[list[dict[str, Any]]] = []
    probes: list[dict[str, float]] = []
    names = list(dict.fromkeys(scenario for scenario, _ in wanted))
    try:
        with (
            provide_server(db) as server,  # type: ignore[arg-type]
            redis_for(names) as redis_server,
            progress_bars() as progress,
        ):
            redis_url = None if redis_server is None else redis_server.url
            for _ in range(runs):
                with (
                    fresh_database(server) as url,
                    Runner(
                        url,
                        impls_in(current),
                        current["meta"]["profile"],
                        progress,
                        redis_url=redis_url,
                    ) as run,
                ):
                    reruns.append([row for s, p in wanted for row in run.rerun(s, p)])
                    probes += run.probes
    except (ProviderError, EmbeddedError) as exc:
        raise fail(str(exc)) from None
    return reruns, probes


baseline_app = typer.Typer(no_args_is_help=True, help="The committed baseline of `ormbench check`.")
app.add_typer(baseline_app, name="baseline")


@baseline_app.command("update")
def baseline_update(
    out: Annotated[Path, typer.Option(help="where to write it")] = BASELINE,
    profile: Profile = "quick",
    runs: Annotated[
        int, typer.Option(min=1, help="identical runs; each row keeps its ratio in every one")
    ] = 3,
    scenario: Annotated[
        list[str] | None, typer.Option("--scenario", help="repeatable; default: all")
    ] = None,
    impl: Annotated[
        list[str] | None, typer.Option("--impl", help="repeatable; default: all")
    ] = None,
    db: Provider = "auto",
) -> None:
    """Run the benchmark RUNS times and make it the baseline (do this on purpose, on the
    machine type CI uses, and commit it). Rows are the first run's; each also keeps its
    ratio to its floor in every run, and `ormbench check` holds it to the highest."""
    from benchmarks import check as checking
    from benchmarks import metrics
    from benchmarks import results as results_file
    from scenarios import SCENARIOS

    chosen_scenarios = choose(scenario, SCENARIOS, "scenario")
    chosen_impls = choose(impl, list(IMPLEMENTATIONS), "implementation")
    documents = []
    for number in range(1, runs + 1):
        console.print(f"baseline run {number} of {runs}")
        documents.append(run_benchmark(chosen_scenarios, chosen_impls, profile, db))
    document = documents[0]
    checking.add_baseline_ratios(document, documents)
    for row in document["results"]:
        row["samples_s"] = metrics.thin(row["samples_s"], BASELINE_SAMPLES)
        # The indexing rows' plans and index sets are what a report explains, not what the
        # check compares: kept out, they would be two thirds of the file.
        row.pop("plans", None)
        row.pop("setup", None)
    out.parent.mkdir(parents=True, exist_ok=True)
    results_file.write(document, out)
    console.print(f"baseline written to {out} ({len(document['results'])} rows); commit it")


def scenarios_in(document: dict[str, Any]) -> list[str]:
    return list(dict.fromkeys(row["scenario"] for row in document["results"]))


def impls_in(document: dict[str, Any]) -> list[str]:
    return list(dict.fromkeys(row["implementation"] for row in document["results"]))
