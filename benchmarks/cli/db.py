"""``ormbench db up|url|down`` (a long-lived embedded server) and ``ormbench serve``."""

import json
import os
import signal
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated

import typer

from benchmarks.cli.common import Provider, app, check_provider, console, fail
from benchmarks.database import ProviderError, fresh_database, provide_server
from benchmarks.embedded import EmbeddedError, EmbeddedPostgres
from benchmarks.redis_server import provide_redis
from implementations import IMPLEMENTATIONS

db_app = typer.Typer(no_args_is_help=True, help="A long-lived embedded PostgreSQL to work on.")
app.add_typer(db_app, name="db")

STATE_FILE = Path(".ormbench") / "db.json"


@db_app.command("up")
def db_up() -> None:
    """Start an embedded PostgreSQL that outlives this command; print its URL.

    Use it with DATABASE_URL=$(ormbench db url); stop it with `ormbench db down`.
    """
    if (
        STATE_FILE.exists()
        and EmbeddedPostgres.attach(json.loads(STATE_FILE.read_text())).is_running()
    ):
        raise fail(f"already running ({STATE_FILE}); `ormbench db url` prints its URL")
    try:
        server = EmbeddedPostgres().start()
    except EmbeddedError as exc:
        raise fail(str(exc)) from None
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
        raise fail("no server is up: run `ormbench db up` first")
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
        raise fail(f"unknown implementation {impl!r}; choose one of: {', '.join(IMPLEMENTATIONS)}")
    check_provider(db)
    # uvicorn re-raises the signal that stopped it; turn SIGTERM into an exception so the
    # database (and an embedded server) are cleaned up as they are on Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    # ORMBENCH_CACHE=redis without REDIS_URL: an embedded Redis, as for the database.
    wants_redis = os.environ.get("ORMBENCH_CACHE") == "redis"
    try:
        with (
            provide_server(db) as server,  # type: ignore[arg-type]
            fresh_database(server) as url,
            provide_redis() if wants_redis else nullcontext() as redis_server,
        ):
            name = url.rsplit("/", 1)[1]
            console.print(
                f"[bold]{impl}[/] on http://{host}:{port}  (docs: /docs)\n"
                f"database {name} on the {server.kind} server, dropped when you stop (Ctrl-C)"
            )
            redis = {"redis_url": redis_server.url} if redis_server else {}
            settings = Settings(database_url=url, **redis)
            if settings.cache != "none":
                where = f" on the {redis_server.kind} Redis" if redis_server else ""
                console.print(f"GET /users/{{id}}/stats cached: {settings.cache}{where}")
            uvicorn.run(create_app(impl, settings), host=host, port=port, log_level="info")
    except (ProviderError, EmbeddedError) as exc:
        raise fail(str(exc)) from None
