"""Which SQL counts as a statement (implementations/contract/counting.py)."""

import pytest

from implementations.contract.counting import command_of, counting, is_counted, record


@pytest.mark.parametrize(
    ("sql", "counted"),
    [
        ("SELECT 1", True),
        ("  select * from users", True),
        ("INSERT INTO tasks (title) VALUES ('a') RETURNING id", True),
        ("UPDATE tasks SET completed = true", True),
        ("DELETE FROM tasks", True),
        ("COPY tasks (title) FROM STDIN", True),
        ("WITH moved AS (UPDATE tasks SET user_id = 2 RETURNING id) SELECT * FROM moved", True),
        ("(SELECT 1) UNION (SELECT 2)", True),
        ("/* a comment */ SELECT 1", True),
        ("-- a comment\nSELECT 1", True),
        ("BEGIN", False),
        ("COMMIT", False),
        ("ROLLBACK", False),
        ("SAVEPOINT sa_1", False),
        ("RELEASE SAVEPOINT sa_1", False),
        ("ROLLBACK TO SAVEPOINT sa_1", False),
        ("SET TIME ZONE 'UTC'", False),
        ("RESET ALL", False),
        ("SHOW server_version", False),
        ("", False),
    ],
)
def test_what_counts(sql: str, counted: bool) -> None:
    assert is_counted(sql) is counted


def test_command_of_reads_the_first_keyword() -> None:
    assert command_of("\n  /* x */ ( with x as (select 1) select * from x)") == "WITH"


def test_record_counts_only_inside_a_counting_block_and_executemany_as_n() -> None:
    record("SELECT 1")  # no active counter: ignored, no error
    with counting() as outer:
        record("SELECT 1")
        record("INSERT INTO t VALUES (%s)", executions=5)
        record("COMMIT")
        with counting() as inner:
            record("SELECT 2")
        record("DELETE FROM t")
    assert (outer.statements, inner.statements) == (7, 1)
