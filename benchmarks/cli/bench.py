"""``ormbench bench`` and ``ormbench report``: run the scenarios, write results and report."""

import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from benchmarks.cli.common import (
    Profile,
    Provider,
    RedisOption,
    app,
    check_provider,
    check_redis_provider,
    choose,
    console,
    fail,
    progress_bars,
)
from benchmarks.database import ProviderError, fresh_database, provide_server
from benchmarks.embedded import EmbeddedError
from benchmarks.redis_server import redis_for
from implementations import IMPLEMENTATIONS


@app.command()
def bench(
    scenario: Annotated[
        list[str] | None, typer.Option("--scenario", help="repeatable; default: all")
    ] = None,
    impl: Annotated[
        list[str] | None,
        typer.Option("--impl", help="repeatable; default: all (the floors always run)"),
    ] = None,
    profile: Profile = "standard",
    out: Annotated[
        Path | None, typer.Option(help="default: results/<timestamp>, linked as results/latest")
    ] = None,
    db: Provider = "auto",
    redis: RedisOption = "auto",
) -> None:
    """Run the scenarios against the implementations; write results.json and the report."""
    from benchmarks import results as results_file
    from scenarios import PROFILES, SCENARIOS

    if profile not in PROFILES:
        raise fail(f"unknown profile {profile!r}; choose one of: {', '.join(PROFILES)}")
    chosen_scenarios = choose(scenario, SCENARIOS, "scenario")
    chosen_impls = choose(impl, list(IMPLEMENTATIONS), "implementation")
    out_dir = out or _timestamped_dir()
    document = run_benchmark(chosen_scenarios, chosen_impls, profile, db, redis)
    results_file.write(document, out_dir / "results.json")
    written = [out_dir / "results.json", *_report(out_dir)]
    if out is None:
        _link_latest(out_dir)
    _print_summary(document["results"])
    console.print("written: " + ", ".join(str(path) for path in written))


def run_benchmark(
    scenario_names: list[str], impls: list[str], profile: str, db: str, redis: str = "auto"
) -> dict[str, Any]:
    """Run the benchmark and return the results document."""
    from benchmarks.runner import Runner, now_iso

    check_provider(db)
    check_redis_provider(redis)
    started_at = now_iso()
    try:
        with (
            provide_server(db) as server,  # type: ignore[arg-type]
            redis_for(scenario_names, redis) as redis_server,  # type: ignore[arg-type]
            fresh_database(server) as url,
            progress_bars() as progress,
            Runner(url, impls, profile, progress, redis_url=_url(redis_server)) as run,
        ):
            rows = run.run(scenario_names)
            found = document(run, rows, started_at, profile, server.kind)
            if redis_server is not None:
                found["meta"]["redis"] = redis_server.describe()
            return found
    except (ProviderError, EmbeddedError) as exc:
        raise fail(str(exc)) from None


def _url(server: Any) -> str | None:
    return None if server is None else server.url


@app.command()
def report(directory: Annotated[Path, typer.Argument(help="a folder with results.json")]) -> None:
    """(Re)write report.md and report.html from DIR/results.json."""
    if not (directory / "results.json").exists():
        raise fail(f"no results.json in {directory}")
    console.print("written: " + ", ".join(str(path) for path in _report(directory)))


def _timestamped_dir() -> Path:
    return Path("results") / time.strftime("%Y%m%d-%H%M%S")


def _link_latest(out_dir: Path) -> None:
    latest = out_dir.parent / "latest"
    if latest.is_symlink() or latest.exists():
        latest.unlink()
    latest.symlink_to(out_dir.name)


def _report(directory: Path) -> list[Path]:
    from benchmarks.report import write_report

    return write_report(directory)


def document(run: Any, rows: list[dict], started_at: str, profile: str, kind: str) -> dict:
    from benchmarks import meta, probe

    postgres = run.db.value("SHOW server_version")
    return {
        "meta": {
            "started_at": started_at,
            "git_commit": meta.git_commit(),
            "python": sys.version.split()[0],
            "postgres": f"PostgreSQL {postgres.split()[0]}",
            "packages": meta.packages(),
            "machine": meta.machine(),
            "probe": probe.summary(run.probes),  # how busy the machine was (probe.py)
            "profile": profile,
            "database": kind,
            "settings": {
                "pool_size": run.settings.pool_size,
                "max_overflow": run.settings.max_overflow,
                "password_hash": (
                    f"argon2id t={run.settings.password_hash_time_cost} "
                    f"m={run.settings.password_hash_memory_kib} KiB (lowered for benchmarks)"
                ),
                "implementations": run.implementations,
                # The regression check's test hook (benchmarks/timing.py): never in a real run.
                **({"test_slowdown": run.slowdowns_text} if run.slowdowns else {}),
            },
        },
        "results": rows,
        "not_applicable": run.not_applicable,
    }


def _print_summary(rows: list[dict]) -> None:
    """One table per scenario: variants down, implementations across."""
    from rich.console import Console
    from rich.table import Table

    implementations = list(dict.fromkeys(row["implementation"] for row in rows))
    for scenario_name in dict.fromkeys(row["scenario"] for row in rows):
        table = Table(title=f"{scenario_name}: median per call (statements, x floor)")
        table.add_column("params")
        table.add_column("variant")
        for name in implementations:
            table.add_column(name, justify="right")
        cells: dict[tuple[str, str], dict[str, str]] = {}
        for row in rows:
            if row["scenario"] != scenario_name:
                continue
            params = " ".join(f"{k}={v}" for k, v in row["params"].items())
            ratio = row["floor_ratio"]
            sent = row["queries_per_op"]
            sent_text = f"{sent:g}" if float(sent).is_integer() else f"{sent:.3g}"
            cell = f"{_duration(row['median_s'])} ({sent_text}" + (
                f", x{ratio:.2f})" if ratio is not None else ")"
            )
            if row.get("wrong_answers"):  # a fast wrong answer is not fast
                cell = f"WRONG {row['wrong_answers']}/{row.get('reads', 0)}"
            cells.setdefault((params, row["label"]), {})[row["implementation"]] = cell
        for (params, label), by_impl in cells.items():
            table.add_row(params, label, *(by_impl.get(name, "") for name in implementations))
        Console(width=max(160, console.width)).print(table)


def _duration(seconds: float) -> str:
    for unit, scale in (("s", 1), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"
