"""The ``ormbench`` command: a database to work on, and the API served five ways."""

import json
import signal
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from benchmarks.database import ProviderError, fresh_database, provide_server
from benchmarks.embedded import EmbeddedError, EmbeddedPostgres
from implementations import IMPLEMENTATIONS

app = typer.Typer(no_args_is_help=True, help=__doc__, add_completion=False)
db_app = typer.Typer(no_args_is_help=True, help="A long-lived embedded PostgreSQL to work on.")
app.add_typer(db_app, name="db")
console = Console(stderr=True)

STATE_FILE = Path(".ormbench") / "db.json"
Provider = Annotated[
    str,
    typer.Option(
        "--db",
        help="auto (DATABASE_URL if set, else embedded), embedded, external or testcontainers",
    ),
]


def _fail(message: str) -> typer.Exit:
    console.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code=2)


def _check_provider(db: str) -> None:
    if db not in ("auto", "embedded", "external", "testcontainers"):
        raise _fail(f"unknown --db {db!r}: choose auto, embedded, external or testcontainers")


@db_app.command("up")
def db_up() -> None:
    """Start an embedded PostgreSQL that outlives this command; print its URL.

    Use it with DATABASE_URL=$(ormbench db url); stop it with `ormbench db down`.
    """
    if (
        STATE_FILE.exists()
        and EmbeddedPostgres.attach(json.loads(STATE_FILE.read_text())).is_running()
    ):
        raise _fail(f"already running ({STATE_FILE}); `ormbench db url` prints its URL")
    try:
        server = EmbeddedPostgres().start()
    except EmbeddedError as exc:
        raise _fail(str(exc)) from None
    STATE_FILE.parent.mkdir(exist_ok=True)
    STATE_FILE.write_text(json.dumps({"url": server.url, **server.describe()}))
    console.print(
        f"embedded PostgreSQL up in {server.startup_seconds:.1f} s; data in {server.root}"
    )
    print(server.url)


@db_app.command("url")
def db_url() -> None:
    """Print the URL of the server started by `ormbench db up`."""
    if not STATE_FILE.exists():
        raise _fail("no server is up: run `ormbench db up` first")
    print(json.loads(STATE_FILE.read_text())["url"])


@db_app.command("down")
def db_down() -> None:
    """Stop the server started by `ormbench db up` and delete its data."""
    if not STATE_FILE.exists():
        console.print("no server is up; nothing to do")
        return
    EmbeddedPostgres.attach(json.loads(STATE_FILE.read_text())).stop()
    STATE_FILE.unlink()
    console.print("embedded PostgreSQL stopped and its data deleted")


@app.command()
def serve(
    impl: Annotated[str, typer.Option("--impl", help=", ".join(IMPLEMENTATIONS))],
    port: Annotated[int, typer.Option(help="port on 127.0.0.1")] = 8000,
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    db: Provider = "auto",
) -> None:
    """Serve the API of one implementation on a fresh database (dropped when you stop)."""
    import uvicorn

    from implementations import create_app
    from implementations.contract.settings import Settings

    if impl not in IMPLEMENTATIONS:
        raise _fail(f"unknown implementation {impl!r}; choose one of: {', '.join(IMPLEMENTATIONS)}")
    _check_provider(db)
    # uvicorn re-raises the signal that stopped it; turn SIGTERM into an exception so the
    # database (and an embedded server) are cleaned up as they are on Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        with provide_server(db) as server, fresh_database(server) as url:  # type: ignore[arg-type]
            name = url.rsplit("/", 1)[1]
            console.print(
                f"[bold]{impl}[/] on http://{host}:{port}  (docs: /docs)\n"
                f"database {name} on the {server.kind} server, dropped when you stop (Ctrl-C)"
            )
            settings = Settings(database_url=url)
            uvicorn.run(create_app(impl, settings), host=host, port=port, log_level="info")
    except (ProviderError, EmbeddedError) as exc:
        raise _fail(str(exc)) from None


Profile = Annotated[str, typer.Option(help="quick (about a minute), standard, full")]


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
) -> None:
    """Run the scenarios against the implementations; write results.json and the report."""
    from benchmarks import results as results_file
    from scenarios import PROFILES, SCENARIOS

    if profile not in PROFILES:
        raise _fail(f"unknown profile {profile!r}; choose one of: {', '.join(PROFILES)}")
    chosen_scenarios = _choose(scenario, SCENARIOS, "scenario")
    chosen_impls = _choose(impl, list(IMPLEMENTATIONS), "implementation")
    out_dir = out or _timestamped_dir()
    document = _run(chosen_scenarios, chosen_impls, profile, db)
    results_file.write(document, out_dir / "results.json")
    written = [out_dir / "results.json", *_report(out_dir)]
    if out is None:
        _link_latest(out_dir)
    _print_summary(document["results"])
    console.print("written: " + ", ".join(str(path) for path in written))


def _run(scenario_names: list[str], impls: list[str], profile: str, db: str) -> dict[str, Any]:
    """Run the benchmark and return the results document."""
    from benchmarks.runner import Runner, now_iso

    _check_provider(db)
    started_at = now_iso()
    try:
        with (
            provide_server(db) as server,  # type: ignore[arg-type]
            fresh_database(server) as url,
            _progress() as progress,
            Runner(url, impls, profile, progress) as run,
        ):
            rows = run.run(scenario_names)
            return _document(run, rows, started_at, profile, server.kind)
    except (ProviderError, EmbeddedError) as exc:
        raise _fail(str(exc)) from None


BASELINE = Path("benchmarks") / "baseline.json"
BASELINE_SAMPLES = 60  # per row: enough for the significance test, small enough to commit


@app.command()
def check(
    baseline: Annotated[Path, typer.Option(help="a results.json to compare with")] = BASELINE,
    results: Annotated[
        Path | None, typer.Option(help="a results.json; default: run the quick profile now")
    ] = None,
    factor: Annotated[float, typer.Option(help="fail only beyond this floor_ratio change")] = 1.25,
    alpha: Annotated[float, typer.Option(help="significance level of the timing test")] = 0.01,
    summary: Annotated[
        Path | None, typer.Option(help="also write the Markdown summary here")
    ] = None,
    db: Provider = "auto",
) -> None:
    """Compare a run with the baseline: more SQL fails; slower fails only when it is real."""
    from benchmarks import check as checking
    from benchmarks import results as results_file

    if not baseline.exists():
        raise _fail(f"no baseline at {baseline}: create one with `ormbench baseline update`")
    base = results_file.read(baseline)
    if results is None:
        out_dir = Path("results") / f"check-{time.strftime('%Y%m%d-%H%M%S')}"
        current = _run(_scenarios_in(base), _impls_in(base), base["meta"]["profile"], db)
        results_file.write(current, out_dir / "results.json")
        summary = summary or out_dir / "check.md"
    else:
        current = results_file.read(results)
    outcome = checking.compare(base, current, factor=factor, alpha=alpha)
    text = checking.render(outcome, factor, alpha, str(baseline))
    print(text)
    if summary is not None:
        summary.parent.mkdir(parents=True, exist_ok=True)
        summary.write_text(text + "\n")
        console.print(f"summary written to {summary}")
    raise typer.Exit(code=0 if outcome.passed else 1)


baseline_app = typer.Typer(no_args_is_help=True, help="The committed baseline of `ormbench check`.")
app.add_typer(baseline_app, name="baseline")


@baseline_app.command("update")
def baseline_update(
    out: Annotated[Path, typer.Option(help="where to write it")] = BASELINE,
    profile: Profile = "quick",
    db: Provider = "auto",
) -> None:
    """Run the benchmark and make it the baseline (do this on purpose, and commit it)."""
    from benchmarks import metrics
    from benchmarks import results as results_file
    from scenarios import SCENARIOS

    document = _run(list(SCENARIOS), list(IMPLEMENTATIONS), profile, db)
    for row in document["results"]:
        row["samples_s"] = metrics.thin(row["samples_s"], BASELINE_SAMPLES)
    out.parent.mkdir(parents=True, exist_ok=True)
    results_file.write(document, out)
    console.print(f"baseline written to {out} ({len(document['results'])} rows); commit it")


def _scenarios_in(document: dict[str, Any]) -> list[str]:
    return list(dict.fromkeys(row["scenario"] for row in document["results"]))


def _impls_in(document: dict[str, Any]) -> list[str]:
    return list(dict.fromkeys(row["implementation"] for row in document["results"]))


@app.command()
def report(directory: Annotated[Path, typer.Argument(help="a folder with results.json")]) -> None:
    """(Re)write report.md and report.html from DIR/results.json."""
    if not (directory / "results.json").exists():
        raise _fail(f"no results.json in {directory}")
    console.print("written: " + ", ".join(str(path) for path in _report(directory)))


def _choose(asked: list[str] | None, known: Sequence[str], what: str) -> list[str]:
    unknown = [name for name in asked or [] if name not in known]
    if unknown:
        raise _fail(f"unknown {what} {unknown[0]!r}; choose from: {', '.join(known)}")
    return list(asked) if asked else list(known)


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


def _document(run: Any, rows: list[dict], started_at: str, profile: str, kind: str) -> dict:
    from benchmarks import meta

    postgres = run.db.value("SHOW server_version")
    return {
        "meta": {
            "started_at": started_at,
            "git_commit": meta.git_commit(),
            "python": sys.version.split()[0],
            "postgres": f"PostgreSQL {postgres.split()[0]}",
            "packages": meta.packages(),
            "machine": meta.machine(),
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
            },
        },
        "results": rows,
        "not_applicable": run.not_applicable,
    }


@contextmanager
def _progress() -> Iterator[Callable[[str, int, int], None]]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    columns = ("{task.description}", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        tasks: dict[str, Any] = {}

        def update(description: str, done: int, total: int) -> None:
            key = description.split(":")[0]
            if key not in tasks:
                tasks[key] = progress.add_task(description, total=total)
            progress.update(tasks[key], description=description, completed=done, total=total)

        yield update


def _print_summary(rows: list[dict]) -> None:
    """One table per scenario: variants down, implementations across."""
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
            cells.setdefault((params, row["label"]), {})[row["implementation"]] = (
                f"{_duration(row['median_s'])} ({row['queries_per_op']:g}"
                + (f", x{ratio:.2f})" if ratio is not None else ")")
            )
        for (params, label), by_impl in cells.items():
            table.add_row(params, label, *(by_impl.get(name, "") for name in implementations))
        Console(width=max(160, console.width)).print(table)


def _duration(seconds: float) -> str:
    for unit, scale in (("s", 1), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"
