"""``ormbench indexes``: run the ORMs' migration tools on every index of the indexing scenario's
sets, record what they built (``benchmarks/index_tools.json``) and write the docs' table."""

from pathlib import Path
from typing import Annotated

import typer

from benchmarks.cli.common import Provider, app, check_provider, console, fail

DOCS = Path(__file__).resolve().parents[2] / "docs" / "indexing.md"
START, END = "<!-- index-tools:start -->", "<!-- index-tools:end -->"


@app.command()
def indexes(
    db: Provider = "auto",
    docs: Annotated[bool, typer.Option(help="rewrite the table in docs/indexing.md")] = True,
) -> None:
    """Declare each index of the indexing sets in SQLAlchemy and Tortoise models, run
    `alembic revision --autogenerate` and `tortoise makemigrations` on throwaway databases
    and folders, and record whether each built the index the scenario builds."""
    from benchmarks import index_tools
    from benchmarks.database import ProviderError, provide_server
    from benchmarks.embedded import EmbeddedError

    check_provider(db)
    try:
        with provide_server(db) as server:  # type: ignore[arg-type]
            console.print("running alembic and tortoise on throwaway databases (about 20 s)")
            record = index_tools.check(server)
    except (ProviderError, EmbeddedError) as exc:
        raise fail(str(exc)) from None
    index_tools.write_record(record)
    written = [index_tools.RECORD]
    if docs:
        write_docs_table(index_tools.markdown(record))
        written.append(DOCS)
    for entry in record["indexes"]:
        console.print(
            f"{entry['name']}: alembic {index_tools.verdict_text(entry['alembic'])}; "
            f"tortoise {index_tools.verdict_text(entry['makemigrations'])}"
        )
    console.print("written: " + ", ".join(str(path) for path in written))


def write_docs_table(table: str, path: Path = DOCS) -> None:
    text = path.read_text()
    if START not in text or END not in text:
        raise fail(f"{path} has no {START} ... {END} markers for the table")
    before, rest = text.split(START, 1)
    after = rest.split(END, 1)[1]
    path.write_text(f"{before}{START}\n{table}{END}{after}")
