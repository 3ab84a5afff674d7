"""What every ``ormbench`` command shares: the Typer app, the console, how errors end a command,
the database provider option, progress bars, and choosing scenarios and implementations."""

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.console import Console

app = typer.Typer(
    no_args_is_help=True,
    help="The ormbench command: a database to work on, the API served five ways, benchmarks.",
    add_completion=False,
)
console = Console(stderr=True)

Provider = Annotated[
    str,
    typer.Option(
        "--db",
        help="auto (DATABASE_URL if set, else embedded), embedded, external or testcontainers",
    ),
]
Profile = Annotated[str, typer.Option(help="quick (about a minute), standard, full")]
RedisOption = Annotated[
    str,
    typer.Option(
        "--redis",
        help="for the caching scenario: auto (REDIS_URL if set, else embedded), embedded, "
        "external or testcontainers",
    ),
]


def fail(message: str) -> typer.Exit:
    console.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code=2)


def check_provider(db: str) -> None:
    if db not in ("auto", "embedded", "external", "testcontainers"):
        raise fail(f"unknown --db {db!r}: choose auto, embedded, external or testcontainers")


def check_redis_provider(redis: str) -> None:
    if redis not in ("auto", "embedded", "external", "testcontainers"):
        raise fail(f"unknown --redis {redis!r}: choose auto, embedded, external or testcontainers")


def choose(asked: list[str] | None, known: Sequence[str], what: str) -> list[str]:
    unknown = [name for name in asked or [] if name not in known]
    if unknown:
        raise fail(f"unknown {what} {unknown[0]!r}; choose from: {', '.join(known)}")
    return list(asked) if asked else list(known)


@contextmanager
def progress_bars() -> Iterator[Callable[[str, int, int], None]]:
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
