"""Can each ORM's migration tool build the indexes of the indexing scenario? Run them and see.

For every index of the sets (``scenarios/index_sets.py``), declared the way each ORM's models
declare it:

- SQLAlchemy + Alembic: a copy of ``migrations/`` in a temp folder whose ``env.py`` also
  imports a module that replaces the ``tasks`` table's indexes in the models' metadata with
  every index of the sets; on a database migrated to head, ``alembic revision
  --autogenerate`` writes a revision, ``alembic upgrade head`` applies it, and ``alembic
  check`` must then find nothing more.
- Tortoise: a copy of its models with ``Meta.indexes`` replaced the same way and of its
  migrations; ``tortoise migrate`` builds the schema, ``makemigrations`` writes what the
  models add, ``migrate`` applies it, and a second ``makemigrations`` must write nothing.

An index is *reproduced* when PostgreSQL's own definition of it (``pg_get_indexdef``) after
the tool ran is the definition the scenario builds (the same DDL run in a scratch database).
Every tool runs as a subprocess, as a developer runs it, on throwaway databases and folders.
``ormbench indexes`` writes the answers to ``index_tools.json`` beside this file (the docs'
and the report's table); ``tests/engine/test_indexing_tools.py`` runs the tools again and
requires the same answers.
"""

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks.database import (
    Server,
    create_database,
    create_schema,
    drop_database,
    new_database_name,
)
from scenarios import index_sets
from scenarios.seed import Database

REPOSITORY = Path(__file__).resolve().parent.parent
RECORD = Path(__file__).with_name("index_tools.json")
TOOLS = ("sqlalchemy", "alembic", "tortoise-orm")
ALEMBIC_INI = """[alembic]
script_location = {folder}/migrations
prepend_sys_path = {folder}{sep}{repository}
path_separator = os

[loggers]
keys = root

[handlers]
keys = console

[formatters]
keys = generic

[logger_root]
level = WARNING
handlers = console

[handler_console]
class = StreamHandler
args = (sys.stderr,)
formatter = generic

[formatter_generic]
format = %%(message)s
"""
# The module env.py imports: the metadata's tasks indexes become every index of the sets.
SQLALCHEMY_MODULE = """from sqlalchemy import Index

from implementations.sync_sqlalchemy.models import Task

tasks = Task.__table__
for index in list(tasks.indexes):
    tasks.indexes.discard(index)
{declarations}
"""
TORTOISE_CONFIG = """import os

TORTOISE_ORM = {
    "connections": {"default": os.environ["DATABASE_URL"].replace("postgresql", "asyncpg", 1)},
    "apps": {
        "models": {
            "models": ["declared_tortoise.models"],
            "default_connection": "default",
            "migrations": "declared_tortoise.migrations",
        }
    },
    "use_tz": True,
    "timezone": "UTC",
}
"""


@contextmanager
def _database(server: Server, *, migrated: bool) -> Iterator[str]:
    name = new_database_name()
    url = create_database(server, name)
    try:
        if migrated:
            create_schema(url)
        yield url
    finally:
        drop_database(server, name)


def _run(args: list[str], cwd: Path, url: str, path: list[Path]) -> str:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "PYTHONPATH": os.pathsep.join(str(p) for p in path),
    }
    done = subprocess.run(
        [sys.executable, "-m", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout + done.stderr


def _definitions(url: str) -> dict[str, str]:
    """PostgreSQL's definition of every index on tasks, by name."""
    db = Database(url)
    try:
        rows = db.all(
            "SELECT indexrelid::regclass::text AS name, pg_get_indexdef(indexrelid) AS ddl "
            "FROM pg_index WHERE indrelid = 'tasks'::regclass"
        )
    finally:
        db.close()
    return {row["name"]: row["ddl"] for row in rows}


def reference(server: Server) -> dict[str, str]:
    """The definitions the scenario builds: its DDL, run in a scratch database."""
    with _database(server, migrated=True) as url:
        db = Database(url, own=True)  # made for this check alone
        try:
            index_sets.strip(db)
            for index, _ in index_sets.distinct_indexes():
                db.execute(index.ddl)
        finally:
            db.close()
        return _definitions(url)


def _calls(script: Path) -> dict[str, str]:
    """The calls a generated migration makes, by the index name they carry (the outermost
    call that names it: ``op.create_index(...)``, ``ops.AddIndex(...)``)."""
    found: dict[str, str] = {}
    for node in ast.walk(ast.parse(script.read_text())):
        if not isinstance(node, ast.Call):
            continue
        text = ast.unparse(node)
        for index, _ in index_sets.distinct_indexes():
            if f"'{index.name}'" in text and index.name not in found:
                found[index.name] = text
    return found


def _new_files(folder: Path, before: set[Path]) -> list[Path]:
    return sorted(set(folder.glob("*.py")) - before - {folder / "__init__.py"})


def check_alembic(server: Server) -> dict[str, Any]:
    declarations = "\n".join(index.sqlalchemy for index, _ in index_sets.distinct_indexes())
    declarations = "\n".join(
        line for line in declarations.splitlines() if not line.startswith("UniqueConstraint")
    )  # the unique constraint stays as the models declare it
    with _database(server, migrated=True) as url, tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        shutil.copytree(REPOSITORY / "migrations", folder / "migrations")
        env = folder / "migrations" / "env.py"
        models_import = "from implementations.sync_sqlalchemy.models import Base\n"
        text = env.read_text()
        if text.count(models_import) != 1:
            raise RuntimeError("migrations/env.py no longer imports Base as expected")
        env.write_text(text.replace(models_import, models_import + "import declared_indexes\n"))
        (folder / "declared_indexes.py").write_text(
            SQLALCHEMY_MODULE.format(declarations=declarations)
        )
        ini = folder / "alembic.ini"
        ini.write_text(ALEMBIC_INI.format(folder=folder, sep=os.pathsep, repository=REPOSITORY))
        versions = folder / "migrations" / "versions"
        before = set(versions.glob("*.py"))
        alembic = ["alembic", "-c", str(ini)]
        path = [folder, REPOSITORY]
        _run([*alembic, "revision", "--autogenerate", "-m", "index sets"], folder, url, path)
        written = _new_files(versions, before)
        _run([*alembic, "upgrade", "head"], folder, url, path)
        try:
            _run([*alembic, "check"], folder, url, path)
            again = ""
        except RuntimeError as exc:  # "New upgrade operations detected: [...]"
            again = next((line for line in str(exc).splitlines() if "FAILED" in line), str(exc))
        return {
            "wrote": _calls(written[0]) if written else {},
            "errors": {},
            # An index autogenerate would drop and create again on every later revision.
            "again": _proposed(again),
            "definitions": _definitions(url),
        }


def _proposed(check_output: str) -> dict[str, str]:
    """``alembic check``'s "New upgrade operations detected: [('remove_index', Index('ix_..',
    ...)), ...]" as {index: "remove_index, add_index"}."""
    found: dict[str, list[str]] = {}
    for operation, name in re.findall(r"\('(\w+)', Index\('(\w+)'", check_output):
        found.setdefault(name, []).append(operation)
    return {name: ", ".join(operations) for name, operations in found.items()}


def _tortoise_models(declarations: str) -> str:
    """Tortoise's models with Task's ``Meta.indexes`` replaced by ``declarations``."""
    source = (REPOSITORY / "implementations" / "tortoise" / "models.py").read_text()
    imports = (
        "from tortoise.expressions import RawSQL\n"
        "from tortoise.indexes import Index, PartialIndex\n"
    )
    source = source.replace("from tortoise.indexes import Index\n", imports, 1)
    start = source.index("        indexes = (\n", source.index("class Task(Model):"))
    end = source.index("\n        )\n", start) + len("\n        )\n")
    body = "".join(f"            {line},\n" for line in declarations.splitlines())
    return source[:start] + f"        indexes = (\n{body}        )\n" + source[end:]


def check_tortoise(server: Server) -> dict[str, Any]:
    """One index at a time: a migration that fails (Tortoise wrote SQL PostgreSQL refuses)
    is recorded with its error and taken out again, so one index cannot hide the others."""
    indexes = [i for i, _ in index_sets.distinct_indexes() if not i.unique_constraint]
    present = set(_definitions_after_migrations(server))
    with _database(server, migrated=False) as url, tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        package = folder / "declared_tortoise"
        migrations = package / "migrations"
        shutil.copytree(
            REPOSITORY / "implementations" / "tortoise" / "migrations",
            migrations,
            ignore=shutil.ignore_patterns("__pycache__"),
        )
        (package / "__init__.py").write_text("")
        (package / "config.py").write_text(TORTOISE_CONFIG)
        tortoise = ["tortoise", "-c", "declared_tortoise.config.TORTOISE_ORM"]
        path = [folder, REPOSITORY]

        def run(*args: str) -> str:
            return _run([*tortoise, *args], folder, url, path)

        def declare(chosen: list[index_sets.IndexDef]) -> None:
            (package / "models.py").write_text(
                _tortoise_models("\n".join(index.tortoise for index in chosen))
            )

        # The models' own indexes, as its migrations 0001-0003 built them.
        declared = [index for index in indexes if index.name in present]
        declare(declared)
        run("migrate")
        wrote: dict[str, str] = {}
        errors: dict[str, str] = {}
        for index in indexes:
            if index.name in present:
                continue
            declare([*declared, index])
            before = set(migrations.glob("*.py"))
            run("makemigrations", "--name", index.name)
            written = _new_files(migrations, before)
            wrote.update(_calls(written[0]) if written else {})
            try:
                run("migrate")
                declared.append(index)
            except RuntimeError as exc:
                errors[index.name] = str(exc).strip().splitlines()[-1]
                for file in written:
                    file.unlink()
        declare(declared)
        before = set(migrations.glob("*.py"))
        run("makemigrations", "--name", "again")
        again = _new_files(migrations, before)
        return {
            "wrote": wrote,
            "errors": errors,
            # An index makemigrations would write again with nothing changed.
            "again": _calls(again[0]) if again else {},
            "definitions": _definitions(url),
        }


def _definitions_after_migrations(server: Server) -> dict[str, str]:
    """The indexes of tasks on a database the migrations built (Alembic's, the reference
    schema)."""
    with _database(server, migrated=True) as url:
        return _definitions(url)


def _verdict(name: str, expected: str, tool: dict[str, Any]) -> dict[str, Any]:
    got = tool["definitions"].get(name)
    if got is None:
        result = "missing"
    elif got == expected:
        result = "reproduced"
    else:
        result = "differs"
    verdict = {"result": result, "got": got, "wrote": tool["wrote"].get(name)}
    if name in tool["errors"]:
        verdict["error"] = tool["errors"][name]
    if name in tool["again"]:
        verdict["again"] = tool["again"][name]
    return verdict


def check(server: Server) -> dict[str, Any]:
    """Run both tools; per index, what each declared, wrote and built."""
    expected = reference(server)
    alembic = check_alembic(server)
    tortoise = check_tortoise(server)
    return {
        "tools": {name: metadata.version(name) for name in TOOLS},
        "indexes": [
            {
                "name": index.name,
                "sets": sets,
                "definition": expected[index.name],
                "sqlalchemy": index.sqlalchemy,
                "alembic": _verdict(index.name, expected[index.name], alembic),
                "tortoise": index.tortoise,
                "makemigrations": _verdict(index.name, expected[index.name], tortoise),
            }
            for index, sets in index_sets.distinct_indexes()
        ],
    }


def write_record(result: dict[str, Any], path: Path = RECORD) -> None:
    path.write_text(json.dumps(result, indent=1) + "\n")


def read_record(path: Path = RECORD) -> dict[str, Any] | None:
    return json.loads(path.read_text()) if path.exists() else None


# --- the table the docs and the report show ------------------------------------------------

TABLE_HEADERS = [
    "index",
    "in sets",
    "SQLAlchemy",
    "alembic revision --autogenerate",
    "Tortoise",
    "tortoise makemigrations",
]


def verdict_text(verdict: dict[str, Any]) -> str:
    """One cell: reproduced, or how the built index differs, or the error; and whether the
    tool would write it again with nothing changed."""
    result = verdict["result"]
    if "error" in verdict:
        text = f"fails: {verdict['error']}"
    elif result == "differs":
        text = f"differs: builds `{verdict['got'].split(' USING btree ')[-1]}`"
    else:
        text = result
    if "again" in verdict:
        text += f"; proposed again on every later run ({verdict['again']})"
    return text


def table(record: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    return TABLE_HEADERS, [
        [
            f"`{entry['name']}`",
            ", ".join(entry["sets"]),
            f"`{entry['sqlalchemy']}`",
            verdict_text(entry["alembic"]),
            f"`{entry['tortoise']}`",
            verdict_text(entry["makemigrations"]),
        ]
        for entry in record["indexes"]
    ]


def markdown(record: dict[str, Any]) -> str:
    headers, rows = table(record)
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"
