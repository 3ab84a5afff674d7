"""``ormbench load``: every implementation under the same locust traffic, and a comparison."""

import re
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from benchmarks.cli.common import Provider, app, check_provider, console, fail
from benchmarks.database import ProviderError, fresh_database, provide_server
from benchmarks.embedded import EmbeddedError
from implementations import IMPLEMENTATIONS

INTERRUPTED = 130  # the shell's code for a command ended by SIGINT
_DURATION = re.compile(r"^(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+)s?)?$")


def parse_duration(text: str) -> int:
    """Seconds from locust's notation: 30s, 2m, 1h30m, or a bare number of seconds."""
    match = _DURATION.match(text.strip())
    if not text.strip() or not match:
        raise fail(f"--duration {text!r}: expected a time such as 30s, 2m or 1h30m")
    seconds = int(match["h"] or 0) * 3600 + int(match["m"] or 0) * 60 + int(match["s"] or 0)
    if seconds < 1:
        raise fail("--duration must be at least 1s")
    return seconds


def _implementations(asked: list[str] | None) -> list[str]:
    names = asked or ["all"]
    if "all" in names:
        return list(IMPLEMENTATIONS)
    unknown = [name for name in names if name not in IMPLEMENTATIONS]
    if unknown:
        raise fail(
            f"unknown implementation {unknown[0]!r}; choose from: all, {', '.join(IMPLEMENTATIONS)}"
        )
    return list(dict.fromkeys(names))


@app.command()
def load(
    impl: Annotated[
        list[str] | None,
        typer.Option("--impl", help="NAME or all (default); repeatable"),
    ] = None,
    users: Annotated[int, typer.Option(min=1, help="concurrent locust users")] = 20,
    spawn_rate: Annotated[
        float | None, typer.Option(min=0.1, help="users started per second (default: all at once)")
    ] = None,
    duration: Annotated[str, typer.Option(help="per implementation: 30s, 2m, 1h30m")] = "30s",
    workers: Annotated[
        int, typer.Option(min=0, help="locust worker processes here, under one master (0: none)")
    ] = 0,
    rate: Annotated[
        float,
        typer.Option(
            min=0, help="fixed arrival: tasks per second for all users together (0: closed loop)"
        ),
    ] = 0.0,
    fail_on: Annotated[
        list[str] | None,
        typer.Option(help="exit 1 past a threshold: failures=0, failures=1%, p95=250ms, rps=100"),
    ] = None,
    ui: Annotated[
        bool, typer.Option("--ui", help="locust's web UI against one implementation, until Ctrl-C")
    ] = False,
    ui_port: Annotated[int, typer.Option(help="port of the web UI on 127.0.0.1")] = 8089,
    tags: Annotated[
        list[str] | None,
        typer.Option("--tag", help="only tasks with this tag: read, write, crud, eager_loading..."),
    ] = None,
    exclude_tags: Annotated[
        list[str] | None, typer.Option("--exclude-tag", help="leave out tasks with this tag")
    ] = None,
    rounds: Annotated[
        int, typer.Option(min=1, help="runs per implementation; the order reverses each round")
    ] = 1,
    order_seed: Annotated[
        int | None, typer.Option(help="the running order's seed (default: random, recorded)")
    ] = None,
    server_workers: Annotated[
        int, typer.Option(min=1, help="uvicorn processes per implementation, each with a pool")
    ] = 1,
    pool_size: Annotated[int, typer.Option(min=1, envvar="ORMBENCH_POOL_SIZE")] = 10,
    max_overflow: Annotated[int, typer.Option(min=0, envvar="ORMBENCH_MAX_OVERFLOW")] = 0,
    seeded_users: Annotated[int, typer.Option(min=10, help="users seeded")] = 1000,
    tasks_per_user: Annotated[int, typer.Option(min=1, help="tasks seeded per user")] = 20,
    remote_workers: Annotated[
        int, typer.Option(min=0, help="also wait for this many locust workers from other hosts")
    ] = 0,
    bind: Annotated[
        str, typer.Option(help="address uvicorn and the locust master listen on")
    ] = "127.0.0.1",
    public_host: Annotated[
        str | None, typer.Option(help="how workers on other hosts reach this one (with --bind)")
    ] = None,
    master_port: Annotated[
        int | None, typer.Option(help="the locust master's port (default: free; 5557 for remote)")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="default: results/load-<timestamp>")] = None,
    db: Provider = "auto",
) -> None:
    """Serve each implementation with uvicorn and put it under the same locust traffic; write
    locust's reports per implementation and a comparison (table and chart)."""
    from benchmarks.load import thresholds
    from benchmarks.load.runner import LoadPlan

    check_provider(db)
    names = _implementations(impl)
    if ui and len(names) != 1:
        raise fail("--ui explores one implementation: give --impl NAME")
    try:
        limits = [thresholds.parse(text) for text in fail_on or []]
    except ValueError as exc:
        raise fail(str(exc)) from None
    if ui and limits:
        raise fail("--fail-on judges a headless run; leave out --ui")
    plan = LoadPlan(
        implementations=names,
        users=users,
        spawn_rate=spawn_rate or float(users),
        duration_s=parse_duration(duration),
        workers=workers,
        remote_workers=remote_workers,
        server_workers=server_workers,
        pool_size=pool_size,
        max_overflow=max_overflow,
        rate=rate,
        tags=tuple(tags or ()),
        exclude_tags=tuple(exclude_tags or ()),
        seeded_users=seeded_users,
        tasks_per_user=tasks_per_user,
        rounds=1 if ui else rounds,
        bind=bind,
        public_host=public_host or ("127.0.0.1" if bind in ("0.0.0.0", "localhost") else bind),
        master_port=master_port or (5557 if remote_workers else 0),
        ui=ui,
        ui_port=ui_port,
        **({"order_seed": order_seed} if order_seed is not None else {}),
    )
    out_dir = out or Path("results") / f"load-{time.strftime('%Y%m%d-%H%M%S')}"
    document = run_plan(plan, db, out_dir)
    if out is None:
        _link_latest(out_dir)
    by_implementation = document["implementations"]
    if by_implementation:
        print_summary(by_implementation, document["description"])
    broken = [r for r in document["runs"] if r["locust_exit_code"] not in (0, 1)]
    for run in broken:
        console.print(
            f"[bold red]locust ended with code {run['locust_exit_code']}[/] in "
            f"{out_dir / run['folder']} (see locust.log)"
        )
    if plan.rate:
        for name, figures in by_implementation.items():
            if figures["rps"] < 0.95 * plan.rate:
                console.print(
                    f"[yellow]{name} served {figures['rps']:.0f} req/s of the {plan.rate:g} "
                    "asked for[/]: past its saturation, a fixed rate is no longer kept"
                )
    verdicts = thresholds.check(limits, by_implementation)
    for name, threshold, passed, text in verdicts:
        mark = "[green]pass[/]" if passed else "[bold red]FAIL[/]"
        console.print(f"{mark} {name}: --fail-on {threshold.text}: {text}")
    if document.get("interrupted"):
        raise typer.Exit(code=INTERRUPTED)
    if broken:
        raise typer.Exit(code=2)
    raise typer.Exit(code=0 if all(passed for _, _, passed, _ in verdicts) else 1)


def run_plan(plan: Any, db: str, out_dir: Path) -> dict[str, Any]:
    """Run the plan on a fresh database; write what was measured, also when interrupted."""
    from benchmarks import meta
    from benchmarks.load import comparison, processes
    from benchmarks.load.runner import plan_dict, run_all
    from scenarios.seed import Database

    started_at = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    runs: list[dict[str, Any]] = []
    interrupted = False
    postgres, kind = "", ""
    console.print(f"load run: {describe(plan)}\nwriting to {out_dir}")
    try:
        with (
            processes.sigterm_as_interrupt(),
            provide_server(db) as server,  # type: ignore[arg-type]
            fresh_database(server) as url,
        ):
            kind = server.kind
            harness = Database(url)
            postgres = harness.value("SHOW server_version").split()[0]
            harness.close()
            run_all(plan, url, out_dir, console.print, runs)
    except KeyboardInterrupt:
        interrupted = True
        console.print("[yellow]interrupted[/]: servers and locust stopped, database dropped")
    except (ProviderError, EmbeddedError, processes.ProcessError) as exc:
        raise fail(str(exc)) from None
    document = {
        "title": f"ormbench load: {plan.users} users, {describe_loop(plan)}",
        "description": describe(plan),
        "meta": {
            "started_at": started_at,
            "git_commit": meta.git_commit(),
            "python": sys.version.split()[0],
            "postgres": f"PostgreSQL {postgres}" if postgres else None,
            "database": kind,
            "packages": {**meta.packages(), **_load_packages()},
            "machine": meta.machine(),
        },
        "plan": plan_dict(plan),
        "interrupted": interrupted,
        "implementations": comparison.compare(runs),
        "runs": runs,
    }
    written = comparison.write(document, out_dir)
    console.print("written: " + ", ".join(str(path) for path in written))
    return document


def _link_latest(out_dir: Path) -> None:
    latest = out_dir.parent / "load-latest"
    if latest.is_symlink() or latest.exists():
        latest.unlink()
    latest.symlink_to(out_dir.name)


def _load_packages() -> dict[str, str]:
    versions = {}
    for name in ("locust", "uvloop", "httptools"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def describe_loop(plan: Any) -> str:
    if plan.rate:
        return f"fixed arrival of {plan.rate:g} tasks/s (constant_throughput per user)"
    return "closed loop (no wait between tasks)"


def describe(plan: Any) -> str:
    here = f"{plan.workers} worker(s) here" if plan.workers else ""
    remote = f"{plan.remote_workers} remote worker(s)" if plan.remote_workers else ""
    workers = " and ".join(part for part in (here, remote) if part)
    generator = f"a locust master with {workers}" if plan.distributed else "one locust process"
    tags = f"; tags {', '.join(plan.tags)}" if plan.tags else ""
    tags += f"; without {', '.join(plan.exclude_tags)}" if plan.exclude_tags else ""
    order = ", ".join(name for _, name in plan.sequence())
    timing = "until Ctrl-C (web UI)" if plan.ui else f"{plan.duration_s} s per implementation"
    return (
        f"{plan.users} users (spawned at {plan.spawn_rate:g}/s), {describe_loop(plan)}, "
        f"{timing}, from {generator}{tags}. Each implementation: uvicorn with "
        f"{plan.server_workers} worker process(es) (uvloop, httptools), a pool of "
        f"{plan.pool_size} (+{plan.max_overflow} overflow) per process; data "
        f"{plan.seeded_users} users x {plan.tasks_per_user} tasks, seeded again before each "
        f"run. Order (seed {plan.order_seed}): {order}."
    )


def print_summary(by_implementation: dict[str, Any], description: str) -> None:
    from rich.console import Console

    from benchmarks.load.comparison import SUMMARY_COLUMNS, summary_rows

    table = Table(title="ormbench load", caption=description, caption_justify="left")
    for column in SUMMARY_COLUMNS:
        table.add_column(column, justify="left" if column == "implementation" else "right")
    for row in summary_rows(by_implementation):
        table.add_row(*row)
    Console(width=max(160, console.width)).print(table)
