#!/usr/bin/env python3
"""The schema each service's migrations build, on PostgreSQL and on SQLite, as text.

    deploy/schema-snapshot.py dump  --bins DIR --out DIR [SERVICE ...]
    deploy/schema-snapshot.py check --bins DIR [--expected tests/data/schema] [SERVICE ...]

`dump` runs `DIR/restance-<service> migrate` against a fresh PostgreSQL database and a fresh
SQLite file per service and writes `<service>.postgres.txt` and `<service>.sqlite.txt`: every
table's columns (type, nullability, default), primary key, unique constraints, indexes and
triggers, sorted. `check` does the same into a temporary directory and compares with the
committed snapshots (exit 1 with a diff when they differ).

The snapshots are the schema's contract with the data already in production: a migration that
is rewritten (for example from SQL text to sea-query) must build the same schema. SQLite types
are written as their affinity (https://sqlite.org/datatype3.html, 3.1), which is what decides
how SQLite stores and compares a value; PostgreSQL types as `format_type`.

PostgreSQL: `RESTANCE_TEST_PG_URL` (default postgres://postgres@127.0.0.1:5432/postgres) names
the server; each service gets a database `restance_schema_<service>_<pid>`, dropped afterwards.
The broker (`RESTANCE__BUS__URL`, default the local one) must be up: `migrate` also declares the
service's queues, here on the exchange `restance-schema-check`.
"""

import argparse
import difflib
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import urllib.parse

SERVICES = [
    "invoicing",
    "dunning",
    "agreements",
    "notifications",
    "reporting",
    "guarantee",
    "counselling",
]

PG_URL = os.environ.get(
    "RESTANCE_TEST_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres"
)


def with_database(url: str, name: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


def psql(url: str, sql: str) -> str:
    out = subprocess.run(
        ["psql", "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1", url, "-c", sql],
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout


def migrate(binary: str, database_url: str, log: str) -> None:
    env = dict(os.environ)
    env["RESTANCE__DATABASE__URL"] = database_url
    env.setdefault("RESTANCE__BUS__EXCHANGE", "restance-schema-check")
    env["RESTANCE__LOG__LEVEL"] = "warn"
    with open(log, "w") as f:
        rc = subprocess.run([binary, "migrate"], env=env, stdout=f, stderr=subprocess.STDOUT).returncode
    if rc != 0:
        sys.exit(f"{binary} migrate failed (exit {rc}); its output is in {log}")


PG_COLUMNS = """
SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       coalesce(pg_get_expr(d.adbin, d.adrelid), '')
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE n.nspname = 'public' AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY 1, 2
"""

PG_CONSTRAINTS = """
SELECT c.relname, k.contype, pg_get_constraintdef(k.oid)
FROM pg_constraint k
JOIN pg_class c ON c.oid = k.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public'
ORDER BY 1, 2, 3
"""

PG_INDEXES = """
SELECT i.tablename, i.indexname, i.indexdef
FROM pg_indexes i
WHERE i.schemaname = 'public'
  AND i.indexname NOT IN (SELECT conname FROM pg_constraint)
ORDER BY 1, 2
"""

PG_TRIGGERS = """
SELECT c.relname, t.tgname, pg_get_triggerdef(t.oid)
FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
WHERE NOT t.tgisinternal
ORDER BY 1, 2
"""

PG_FUNCTIONS = """
SELECT p.proname, md5(p.prosrc)
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'public'
ORDER BY 1
"""


def quoting(text: str) -> str:
    """Identifiers as PostgreSQL prints them, quoted or not (sea-query quotes every one)."""
    return re.sub(r'"([a-z_][a-z0-9_]*)"', r"\1", text)


def dump_postgres(binary: str, service: str, logdir: str) -> str:
    name = f"restance_schema_{service}_{os.getpid()}"
    psql(PG_URL, f'DROP DATABASE IF EXISTS "{name}"')
    psql(PG_URL, f'CREATE DATABASE "{name}"')
    url = with_database(PG_URL, name)
    try:
        migrate(binary, url, os.path.join(logdir, f"{service}.postgres.log"))
        lines = []
        for row in psql(url, PG_COLUMNS).splitlines():
            table, column, typ, notnull, default = row.split("\t")
            default = re.sub(r"::(text|bigint|integer|boolean)\b", "", default)
            lines.append(
                f"{table}.{column} {typ}{' NOT NULL' if notnull == 't' else ''}"
                + (f" DEFAULT {default}" if default else "")
            )
        for row in psql(url, PG_CONSTRAINTS).splitlines():
            table, kind, definition = row.split("\t")
            lines.append(f"{table} constraint {kind} {quoting(definition)}")
        for row in psql(url, PG_INDEXES).splitlines():
            table, index, definition = row.split("\t")
            lines.append(f"{table} index {index}: {quoting(definition)}")
        for row in psql(url, PG_TRIGGERS).splitlines():
            table, trigger, definition = row.split("\t")
            lines.append(f"{table} trigger {trigger}: {quoting(definition)}")
        for row in psql(url, PG_FUNCTIONS).splitlines():
            function, digest = row.split("\t")
            lines.append(f"function {function} body md5 {digest}")
        return "\n".join(sorted(lines)) + "\n"
    finally:
        psql(PG_URL, f'DROP DATABASE IF EXISTS "{name}"')


def affinity(declared: str) -> str:
    """SQLite's column affinity of a declared type (datatype3.html, 3.1). Dates are `DATE`
    whatever they are declared as (`DATE`, NUMERIC affinity, or sea-query's `date_text`, TEXT):
    sqlx writes them as ISO-8601 text, which neither affinity converts, so both store and
    compare them alike."""
    t = declared.upper()
    if "DATE" in t and "TIME" not in t:
        return "DATE"
    if "INT" in t:
        return "INTEGER"
    if "CHAR" in t or "CLOB" in t or "TEXT" in t:
        return "TEXT"
    if "BLOB" in t or t == "":
        return "BLOB"
    if "REAL" in t or "FLOA" in t or "DOUB" in t:
        return "REAL"
    return "NUMERIC"


def sqlite_default(default):
    if default is None:
        return ""
    d = str(default).strip("'\"").upper()
    d = {"FALSE": "0", "TRUE": "1"}.get(d, d)
    return f" DEFAULT {d}"


def dump_sqlite(binary: str, service: str, workdir: str, logdir: str) -> str:
    path = os.path.join(workdir, f"{service}.db")
    migrate(binary, f"sqlite://{path}?mode=rwc", os.path.join(logdir, f"{service}.sqlite.log"))
    db = sqlite3.connect(path)
    lines = []
    tables = [
        r[0]
        for r in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    for table in tables:
        pk = []
        columns = list(db.execute(f'PRAGMA table_info("{table}")'))
        for cid, name, typ, notnull, default, pkpos in columns:
            if pkpos:
                # A key column is never NULL here, declared NOT NULL or not: the rowid cannot
                # be, and no statement writes a NULL key (SQLite would allow it in an old
                # table; PostgreSQL's keys are NOT NULL anyway).
                notnull = 0
            lines.append(
                f"{table}.{name} {affinity(typ)}{' NOT NULL' if notnull else ''}{sqlite_default(default)}"
            )
            if pkpos:
                pk.append((pkpos, name))
        if pk:
            lines.append(f"{table} primary key ({', '.join(n for _, n in sorted(pk))})")
        sql = db.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
        ).fetchone()[0]
        if re.search(r"AUTOINCREMENT", sql, re.I):
            lines.append(f"{table} autoincrement")
        for _, index, unique, origin, partial in db.execute(f'PRAGMA index_list("{table}")'):
            if origin == "pk":
                continue
            cols = [r[2] for r in db.execute(f'PRAGMA index_info("{index}")')]
            shown = index if origin == "c" else "(constraint)"
            lines.append(
                f"{table} {'unique ' if unique else ''}index {shown} ({', '.join(cols)})"
                + (" partial" if partial else "")
            )
    for name, table in db.execute("SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger'"):
        lines.append(f"{table} trigger {name}")
    db.close()
    return "\n".join(sorted(lines)) + "\n"


def dump(bins: str, out: str, services) -> None:
    os.makedirs(out, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        for service in services:
            binary = os.path.join(bins, f"restance-{service}")
            if not os.path.exists(binary):
                sys.exit(f"{binary} not found: build the services first (cargo build --workspace --bins)")
            for backend, text in (
                ("postgres", dump_postgres(binary, service, work)),
                ("sqlite", dump_sqlite(binary, service, work, work)),
            ):
                with open(os.path.join(out, f"{service}.{backend}.txt"), "w") as f:
                    f.write(text)
            print(f"{service}: schema written", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["dump", "check"])
    parser.add_argument("--bins", required=True, help="directory with the restance-<service> binaries")
    parser.add_argument("--out", help="dump: where to write the snapshots")
    parser.add_argument("--expected", default="tests/data/schema", help="check: the committed snapshots")
    parser.add_argument("services", nargs="*", default=SERVICES)
    args = parser.parse_intermixed_args()
    if args.command == "dump":
        if not args.out:
            parser.error("dump needs --out")
        dump(args.bins, args.out, args.services)
        return
    with tempfile.TemporaryDirectory() as got:
        dump(args.bins, got, args.services)
        differ = 0
        for service in args.services:
            for backend in ("postgres", "sqlite"):
                name = f"{service}.{backend}.txt"
                with open(os.path.join(args.expected, name)) as f:
                    want = f.read().splitlines(keepends=True)
                with open(os.path.join(got, name)) as f:
                    have = f.read().splitlines(keepends=True)
                if want != have:
                    differ += 1
                    sys.stdout.writelines(
                        difflib.unified_diff(want, have, f"expected/{name}", f"migrated/{name}")
                    )
        if differ:
            sys.exit(
                f"{differ} schema(s) differ from {args.expected}: a migration builds another schema "
                "than before. If the change is intended (a new migration), run "
                f"`deploy/schema-snapshot.py dump --bins {args.bins} --out {args.expected}` and commit it."
            )
        print(f"schema check: {len(args.services)} services x 2 backends equal to {args.expected}")


if __name__ == "__main__":
    main()
