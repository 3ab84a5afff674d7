"""EXPLAIN what an implementation really sent, and read the plan back as a short summary.

The statements come from the driver hooks that count them (``counting(capture=True)``):
SQLAlchemy's ``before_cursor_execute``, psycopg2's counting cursor, asyncpg's query logger.
Each is explained on the harness's own connection, inside BEGIN ... ROLLBACK (an EXPLAIN
ANALYZE of a DELETE really deletes), with ``EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)``:

- psycopg2 sends a statement as text with its values spelled out (client-side
  interpolation), so PostgreSQL plans every execution for those values: the statement is
  rebuilt with the same values (``mogrify``) and explained as it is. Plan: ``custom``.
- asyncpg prepares every statement and executes it with parameters. PostgreSQL plans a
  prepared statement for its values (a custom plan) on its first five executions, then may
  switch to one generic plan for any values, when that plan's estimated cost is not worse
  than the custom ones' average; a partial index whose predicate is a parameter is out of a
  generic plan's reach. So the statement is PREPAREd as asyncpg sends it, executed five
  times with the captured values (each rolled back to a savepoint), and the sixth execution
  is explained: the plan a pooled connection settles on. ``plan_kind`` says which it was,
  read from ``pg_prepared_statements``.

A user's delete cascades to the tasks through the foreign key's trigger, a statement of its
own that EXPLAIN does not show: ``auto_explain`` (loaded in the harness's session, logging
at NOTICE level, nested statements on) reports its plan to the client, and it is kept
beside the DELETE's.
"""

import json
from collections.abc import Callable, Iterator
from typing import Any

import psycopg2

from implementations.contract.counting import Sent, command_of
from scenarios.seed import Database

EXPLAIN = "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) "
PREPARED = "ormbench_explained"
# PostgreSQL's plan cache plans the first five executions of a prepared statement with
# their values before it considers a generic plan (choose_custom_plan in plancache.c).
CUSTOM_PLANS_FIRST = 5
AUTO_EXPLAIN = (
    "SET LOCAL auto_explain.log_min_duration = 0",
    "SET LOCAL auto_explain.log_analyze = on",
    "SET LOCAL auto_explain.log_buffers = on",
    "SET LOCAL auto_explain.log_format = 'json'",
    "SET LOCAL auto_explain.log_nested_statements = on",
    "SET LOCAL auto_explain.log_level = 'notice'",
)
OWN_TEXT = ("EXPLAIN", "PREPARE", "EXECUTE")
TABLE = "tasks"  # the table whose access paths the summaries describe
# Nodes that only pass a scan's rows on (reordered, gathered from workers): the summary's
# access path climbs through them to show how the scan's rows are used.
PASS_THROUGH = {"Sort", "Incremental Sort", "Gather", "Gather Merge", "Materialize", "Memoize"}

Prepare = Callable[[Any], None]  # run inside the EXPLAIN's transaction first (a cursor)


def explain_sent(
    db: Database, driver: str, sent: list[Sent], prepare: Prepare | None = None
) -> list[dict[str, Any]]:
    """One entry per statement in ``sent``: the SQL, the values, the plan and its summary.
    ``prepare`` puts back, inside each EXPLAIN's transaction, what the captured call
    consumed (the user a DELETE removed)."""
    cascades = _auto_explain_loaded(db)
    explained = []
    for statement in sent:
        if command_of(statement.sql) == "COPY":
            explained.append({"sql": statement.sql, "plan": None, "why": "COPY has no plan"})
            continue
        explained.append(_explain(db, driver, statement, prepare, cascades))
    return explained


def _auto_explain_loaded(db: Database) -> bool:
    """Load auto_explain into the harness's session (superusers only, unless the server
    lists it in session_preload_libraries); False if it cannot be."""
    try:
        db.execute("LOAD 'auto_explain'")
    except psycopg2.Error:  # refused: no cascade plans, and the rows say why
        return False
    return True


def _explain(
    db: Database, driver: str, statement: Sent, prepare: Prepare | None, cascades: bool
) -> dict[str, Any]:
    connection = db.connection
    with connection.cursor() as cursor:
        cursor.execute("BEGIN")
        prepared = False
        try:
            if prepare is not None:
                prepare(cursor)
            if driver == "psycopg2":
                executed = cursor.mogrify(statement.sql, statement.params).decode()
                values = None
            else:
                cursor.execute(f"PREPARE {PREPARED} AS {statement.sql}")
                prepared = True
                params = tuple(statement.params or ())
                placeholders = ", ".join(["%s"] * len(params))
                executed = cursor.mogrify(
                    f"EXECUTE {PREPARED}" + (f" ({placeholders})" if params else ""), params
                ).decode()
                values = executed
                for _ in range(CUSTOM_PLANS_FIRST):
                    cursor.execute("SAVEPOINT custom_plan")
                    cursor.execute(executed)
                    cursor.execute("ROLLBACK TO SAVEPOINT custom_plan")
            if cascades:
                for setting in AUTO_EXPLAIN:
                    cursor.execute(setting)
            del connection.notices[:]
            cursor.execute(EXPLAIN + executed)
            explained = cursor.fetchone()[0][0]
            nested = list(_nested_plans(connection.notices, statement.sql)) if cascades else []
            kind = "custom"
            if prepared:
                cursor.execute(
                    "SELECT generic_plans FROM pg_prepared_statements WHERE name = %s",
                    (PREPARED,),
                )
                kind = "generic" if cursor.fetchone()[0] else "custom"
        finally:
            cursor.execute("ROLLBACK")
            if prepared:
                cursor.execute(f"DEALLOCATE {PREPARED}")
    entry = {
        "sql": statement.sql,
        "values": values,  # asyncpg: the EXECUTE with the captured values; psycopg2: inline
        "plan_kind": kind,
        "plan": explained,
        "nested": nested,
        "summary": summarize(explained, nested),
    }
    if not cascades:
        entry["why_no_nested"] = "auto_explain could not be loaded (not a superuser?)"
    return entry


def _nested_plans(notices: list[str], sql: str) -> Iterator[dict[str, Any]]:
    """auto_explain's plans of the statements the explained one (``sql``) set off: the
    cascade. It logs the explained statement too (under its own text, the EXPLAIN's or the
    PREPARE's): only what that statement set off is new here."""
    for notice in notices:
        start = notice.find("{")
        if "plan:" not in notice or start < 0:
            continue
        logged = json.loads(notice[start:])
        text = logged.get("Query Text", "")
        if sql.strip() not in text and not text.lstrip().upper().startswith(OWN_TEXT):
            yield {"query": text, "plan": logged["Plan"]}


# --- reading a plan ---------------------------------------------------------------------


def _nodes(plan: dict[str, Any], parents: tuple[dict, ...] = ()) -> Iterator[tuple]:
    """Every node with its ancestors, nearest last."""
    yield plan, parents
    for child in plan.get("Plans", ()):
        yield from _nodes(child, (*parents, plan))


def _rows(node: dict[str, Any]) -> float:
    return node.get("Actual Rows", 0) * node.get("Actual Loops", 1)


def _indexes(node: dict[str, Any]) -> list[str]:
    """The indexes a scan reads: its own, or those of a bitmap's index scans."""
    if "Index Name" in node:
        return [node["Index Name"]]
    return [name for child in node.get("Plans", ()) for name in _indexes(child)]


def describe_node(node: dict[str, Any]) -> str:
    """A scan as EXPLAIN's text format names it: "Index Scan Backward using ix_..."."""
    kind = node["Node Type"]
    if node.get("Parallel Aware"):
        kind = f"Parallel {kind}"
    if node.get("Scan Direction") == "Backward":
        kind += " Backward"
    indexes = _indexes(node)
    if node["Node Type"] == "Bitmap Heap Scan":
        return f"{kind} via {' + '.join(indexes)}"
    return f"{kind} using {indexes[0]}" if indexes else kind


def access_path(node: dict[str, Any], parents: tuple[dict, ...]) -> str:
    """A scan of ``tasks`` and the nodes right above it that only reorder or gather its
    rows: "Incremental Sort > Index Scan Backward using ix_...". Equal strings, equal plans
    for the table."""
    chain = [describe_node(node)]
    for parent in reversed(parents):
        if parent["Node Type"] not in PASS_THROUGH:
            break
        chain.insert(0, parent["Node Type"])
    return " > ".join(chain)


def _scans(plan: dict[str, Any]) -> Iterator[tuple[dict, tuple]]:
    for node, parents in _nodes(plan):
        if node.get("Relation Name") == TABLE and node["Node Type"] != "ModifyTable":
            yield node, parents


def summarize(explained: dict[str, Any], nested: list[dict[str, Any]] = ()) -> dict[str, Any]:
    """What the report shows beside the time: how ``tasks`` was read (access path, index,
    rows, heap fetches of an Index Only Scan), and the shared buffers hit and read by the
    statement and those it set off."""
    plans = [explained["Plan"], *(entry["plan"] for entry in nested)]
    scans = [(node, parents) for plan in plans for node, parents in _scans(plan)]
    fetches = [node["Heap Fetches"] for node, _ in scans if "Heap Fetches" in node]
    return {
        "top_node": explained["Plan"]["Node Type"],
        "access": "; ".join(access_path(node, parents) for node, parents in scans) or None,
        "indexes": sorted({name for node, _ in scans for name in _indexes(node)}),
        "tasks_rows": sum(_rows(node) for node, _ in scans),
        "removed_by_filter": sum(
            node.get("Rows Removed by Filter", 0) * node.get("Actual Loops", 1) for node, _ in scans
        ),
        "heap_fetches": sum(fetches) if fetches else None,
        "shared_hit": sum(plan.get("Shared Hit Blocks", 0) for plan in plans),
        "shared_read": sum(plan.get("Shared Read Blocks", 0) for plan in plans),
        "execution_ms": explained.get("Execution Time"),
        "planning_ms": explained.get("Planning Time"),
    }
