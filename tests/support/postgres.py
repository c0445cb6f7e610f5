"""A throwaway PostgreSQL schema per test."""

from __future__ import annotations

import uuid

import psycopg


def fresh_pg_schema(url: str) -> str:
    """A new empty schema in the session database, selected through search_path."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return f"{url}?options=-csearch_path%3D{schema}"
