"""A database's schema as PostgreSQL's catalog describes it, and the differences between two.

Each object is a *subject* ("column tasks.title", "foreign key tasks (user_id) -> users (id)",
"index tasks (user_id, completed)") with *facets* (type, nullability, default, name, ON DELETE
action, the index definition). Objects are matched by what they are, not by name, so a name
that differs is one difference (facet "name") rather than a missing object on each side.
Columns are matched by name: their order in the table is not compared.
"""

from dataclasses import dataclass, field

import psycopg2.extensions

ABSENT = "(absent)"

_ON_ACTION = {
    "a": "NO ACTION",
    "r": "RESTRICT",
    "c": "CASCADE",
    "n": "SET NULL",
    "d": "SET DEFAULT",
}

# Tables, columns, constraints and indexes of the public schema (tables only: relkind r, p).
_COLUMNS = """
SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY 1, 2
"""
_TABLES = """
SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
"""
_COLUMN_NAMES = """
ARRAY(SELECT a.attname FROM unnest({keys}) WITH ORDINALITY AS k(attnum, i)
      JOIN pg_attribute a ON a.attrelid = {table} AND a.attnum = k.attnum ORDER BY k.i)
"""
_CONSTRAINTS = f"""
SELECT c.relname, con.conname, con.contype, pg_get_constraintdef(con.oid),
       {_COLUMN_NAMES.format(keys="con.conkey", table="con.conrelid")},
       f.relname, {_COLUMN_NAMES.format(keys="con.confkey", table="con.confrelid")},
       con.confdeltype, con.confupdtype,
       CASE WHEN NOT con.condeferrable THEN 'NOT DEFERRABLE'
            WHEN con.condeferred THEN 'INITIALLY DEFERRED' ELSE 'INITIALLY IMMEDIATE' END
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_class f ON f.oid = con.confrelid
WHERE n.nspname = 'public' AND con.contype <> 'n'  -- NOT NULL (PostgreSQL 18): see columns
"""
# Indexes that back a primary key or unique constraint are compared as those constraints.
_INDEXES = """
SELECT t.relname, i.relname,
       ARRAY(SELECT pg_get_indexdef(ix.indexrelid, k, true)
             FROM generate_series(1, ix.indnkeyatts) AS k ORDER BY k),
       regexp_replace(pg_get_indexdef(ix.indexrelid), ' INDEX \\S+ ON ', ' INDEX ON ')
FROM pg_index ix
JOIN pg_class i ON i.oid = ix.indexrelid
JOIN pg_class t ON t.oid = ix.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
WHERE n.nspname = 'public' AND NOT EXISTS (
    SELECT 1 FROM pg_constraint con
    WHERE con.conindid = ix.indexrelid AND con.conrelid = ix.indrelid
      AND con.contype IN ('p', 'u', 'x'))
"""


@dataclass
class Item:
    table: str
    facets: dict[str, str] = field(default_factory=dict)


Schema = dict[str, Item]


@dataclass(frozen=True)
class Difference:
    subject: str
    facet: str  # "exists" when the subject is on one side only
    left: str
    right: str

    def __str__(self) -> str:
        return f"{self.subject}: {self.facet} {self.left!r} != {self.right!r}"


def read_schema(cursor: "psycopg2.extensions.cursor") -> Schema:
    schema: Schema = {}
    cursor.execute(_TABLES)
    for (table,) in cursor.fetchall():
        schema[f"table {table}"] = Item(table)
    cursor.execute(_COLUMNS)
    for table, column, type_, not_null, default, identity, generated in cursor.fetchall():
        schema[f"column {table}.{column}"] = Item(
            table,
            {
                "type": type_,
                "nullable": "NOT NULL" if not_null else "NULL",
                "default": default or ABSENT,
                "identity": identity or ABSENT,
                "generated": generated or ABSENT,
            },
        )
    cursor.execute(_CONSTRAINTS)
    for row in cursor.fetchall():
        _add(schema, *_constraint(*row))
    cursor.execute(_INDEXES)
    for table, name, columns, definition in cursor.fetchall():
        subject = f"index {table} ({', '.join(columns)})"
        _add(schema, subject, Item(table, {"name": name, "definition": definition}))
    return schema


def _constraint(
    table: str,
    name: str,
    kind: str,
    definition: str,
    columns: list[str],
    foreign_table: str | None,
    foreign_columns: list[str],
    on_delete: str,
    on_update: str,
    deferrable: str,
) -> tuple[str, Item]:
    keys = f"{table} ({', '.join(columns)})"
    if kind == "p":
        return f"primary key {keys}", Item(table, {"name": name})
    if kind == "u":
        return f"unique {keys}", Item(table, {"name": name, "deferrable": deferrable})
    if kind == "c":
        return f"check {table} {definition}", Item(table, {"name": name})
    if kind == "f":
        subject = f"foreign key {keys} -> {foreign_table} ({', '.join(foreign_columns)})"
        facets = {
            "name": name,
            "on delete": _ON_ACTION[on_delete],
            "on update": _ON_ACTION[on_update],
            "deferrable": deferrable,
        }
        return subject, Item(table, facets)
    return f"constraint {table} {definition}", Item(table, {"name": name})


def _add(schema: Schema, subject: str, item: Item) -> None:
    """Two objects of one subject (two indexes on the same columns) are both kept."""
    unique_subject, n = subject, 1
    while unique_subject in schema:
        n += 1
        unique_subject = f"{subject} #{n}"
    schema[unique_subject] = item


def compare(left: Schema, right: Schema) -> list[Difference]:
    """Every difference; a table on one side only is one difference, not one per column."""
    one_sided = {
        item.table
        for subject, item in (left | right).items()
        if subject.startswith("table ") and (subject in left) != (subject in right)
    }
    differences = []
    for subject in sorted(left.keys() | right.keys()):
        in_left, in_right = left.get(subject), right.get(subject)
        table = (in_left or in_right).table  # type: ignore[union-attr]
        if table in one_sided and not subject.startswith("table "):
            continue
        if in_left is None or in_right is None:
            present = ("yes", "no") if in_right is None else ("no", "yes")
            differences.append(Difference(subject, "exists", *present))
            continue
        for facet in sorted(in_left.facets.keys() | in_right.facets.keys()):
            a, b = in_left.facets.get(facet, ABSENT), in_right.facets.get(facet, ABSENT)
            if a != b:
                differences.append(Difference(subject, facet, a, b))
    return differences
