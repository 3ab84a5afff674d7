"""The migration tools, run for real on every index of the indexing sets: what they built must
be what ``benchmarks/index_tools.json`` (the docs' and the report's table) says they build.

When a tool's new version changes an answer, this fails with both answers; ``ormbench
indexes`` then records the new ones and rewrites the docs' table.
"""

from benchmarks import index_tools
from benchmarks.database import Server
from scenarios import index_sets


def test_the_recorded_table_is_what_the_tools_do_now(server: Server) -> None:
    recorded = index_tools.read_record()
    assert recorded is not None, "no benchmarks/index_tools.json: run `ormbench indexes`"
    now = index_tools.check(server)
    assert now["indexes"] == recorded["indexes"]


def test_the_record_covers_every_index_of_the_sets() -> None:
    recorded = index_tools.read_record()
    assert recorded is not None
    names = [entry["name"] for entry in recorded["indexes"]]
    assert names == [index.name for index, _ in index_sets.distinct_indexes()]
    for entry in recorded["indexes"]:
        assert entry["alembic"]["result"] in ("reproduced", "differs", "missing")
        assert entry["makemigrations"]["result"] in ("reproduced", "differs", "missing")
