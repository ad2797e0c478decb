"""The bare baseline of ``make bench-http``: Flask, gunicorn and the database driver, doing the
least a request of the same kind must do, on the same database and gunicorn settings.

- ``GET /units/<id>``: one SELECT of the unit's row by primary key, as JSON.
- ``POST /scan``: the JSON body parsed, one SELECT of the unit by its identifier, as JSON.
- ``POST /units``: one INSERT and a COMMIT (into a table of its own, ``bench_bare``).

It reads ``BARE_DATABASE_URL`` (SQLAlchemy spelling; PostgreSQL through psycopg, or a SQLite
file), keeps one connection per worker process, and checks nothing: no sign-in, no roles,
no ledger. That is the point: the ratio to it says what the application adds.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from typing import Any

from flask import Flask, abort, jsonify, request
from sqlalchemy.engine import make_url

COLUMNS = "id, din, check_character, product_code, division, unit_type, status, patient_id, version"
URL = make_url(os.environ.get("BARE_DATABASE_URL", "sqlite:///bare.sqlite3"))
POSTGRES = URL.get_backend_name() == "postgresql"
_local = threading.local()

app = Flask(__name__)


def _connect() -> Any:
    if POSTGRES:
        import psycopg

        conn = psycopg.connect(
            host=URL.host or "127.0.0.1",
            port=URL.port or 5432,
            user=URL.username,
            password=URL.password,
            dbname=URL.database,
            autocommit=True,
        )
        conn.execute("CREATE TABLE IF NOT EXISTS bench_bare (id serial PRIMARY KEY, note text)")
        return conn
    conn = sqlite3.connect(URL.database, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout=10000")
    conn.execute("CREATE TABLE IF NOT EXISTS bench_bare (id integer PRIMARY KEY, note text)")
    return conn


def connection() -> Any:
    conn = getattr(_local, "conn", None)
    if conn is None:
        conn = _local.conn = _connect()
    return conn


def _param() -> str:
    return "%s" if POSTGRES else "?"


def _one(where: str, value: Any) -> dict[str, Any]:
    sql = f"SELECT {COLUMNS} FROM units WHERE {where} = {_param()}"
    row = connection().execute(sql, (value,)).fetchone()
    if row is None:
        abort(404)
    return dict(zip([c.strip() for c in COLUMNS.split(",")], row, strict=True))


@app.get("/units/<int:unit_id>")
def get_unit(unit_id: int):
    return jsonify(_one("id", unit_id))


@app.post("/scan")
def scan():
    code = str((request.get_json(silent=True) or {}).get("code", ""))
    din = code.lstrip("=")[:13]
    return jsonify(_one("din", din))


@app.post("/units")
def register():
    body = request.get_json(silent=True) or {}
    conn = connection()
    if POSTGRES:
        with conn.transaction():
            (new_id,) = conn.execute(
                "INSERT INTO bench_bare (note) VALUES (%s) RETURNING id", (str(body)[:200],)
            ).fetchone()
    else:
        conn.execute("BEGIN IMMEDIATE")
        new_id = conn.execute(
            "INSERT INTO bench_bare (note) VALUES (?) RETURNING id", (str(body)[:200],)
        ).fetchone()[0]
        conn.execute("COMMIT")
    return jsonify({"id": new_id}), 201
