"""A throwaway PostgreSQL schema per test."""

from __future__ import annotations

import os
import uuid

import psycopg


def admin_dsn() -> str:
    """libpq parameters of a PostgreSQL role that may create databases: the
    server at 127.0.0.1:5432 (trust auth) unless FIELDPROOF_TEST_PG says otherwise."""
    return os.environ.get("FIELDPROOF_TEST_PG", "host=127.0.0.1 port=5432 user=postgres")


def fresh_pg_schema(url: str) -> str:
    """A new empty schema in the session database, selected through search_path."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return f"{url}?options=-csearch_path%3D{schema}"
