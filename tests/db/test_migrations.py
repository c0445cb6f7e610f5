"""Upgrading a log written before custody events (0003) keeps every leaf and
leaves one capture leaf per capture enforced."""

from __future__ import annotations

from datetime import UTC, datetime
from importlib import resources

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError

from fieldproof.db import Capture, Database, User
from fieldproof.db.models import utcnow


def _upgrade(url: str, rev: str) -> None:
    cfg = Config()
    cfg.set_main_option("script_location",
                        str(resources.files("fieldproof.db").joinpath("migrations")))
    engine = create_engine(url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, rev)
    engine.dispose()


def test_upgrade_from_0003_keeps_the_log(db_url: str) -> None:
    _upgrade(db_url, "0003")
    engine = create_engine(db_url)
    with engine.begin() as c:  # tables 0004 leaves alone: today's models describe them
        uid = c.execute(User.__table__.insert().values(
            email="m@example.org", password_hash="x")).inserted_primary_key[0]
        # devices as 0003 made them (server_held came in 0008)
        devices = sa.table("devices", sa.column("id"), sa.column("user_id"),
                           sa.column("key_id"), sa.column("jwk", sa.JSON),
                           sa.column("label"), sa.column("created_at"),
                           sa.column("capture_count"))
        did = c.execute(devices.insert().values(
            user_id=uid, key_id="k", jwk={}, label="", created_at=datetime.now(UTC),
            capture_count=0).returning(devices.c.id)).scalar_one()
        c.execute(Capture.__table__.insert().values(
            id="c1", user_id=uid, device_id=did, kind="photo", status="anchored",
            manifest_hash="h", manifest="{}", signature=b"", nonce="n", media_sha256="s",
            media_size=1, media_mime="image/jpeg", object_key="k", checks=[], exif={},
            received_at=utcnow()))
        c.execute(text("INSERT INTO log_entries (leaf_index, capture_id, kind, data, "
                       "leaf_hash, created_at) VALUES (0, 'c1', 'capture', '{}', :h, "
                       "CURRENT_TIMESTAMP)"), {"h": b"\x00" * 32})
    engine.dispose()

    Database(db_url).migrate()  # 0004 and anything after it
    engine = create_engine(db_url)
    with engine.begin() as c:
        rows = c.execute(text("SELECT leaf_index, capture_id, kind FROM log_entries")).all()
        assert [tuple(r) for r in rows] == [(0, "c1", "capture")]
        # custody leaves may share the capture id now ...
        c.execute(text("INSERT INTO log_entries (capture_id, kind, data, leaf_hash, "
                       "created_at) VALUES ('c1', 'custody', '{}', :h, CURRENT_TIMESTAMP)"),
                  {"h": b"\x01" * 32})
    # ... a second capture leaf for the same capture may not
    with pytest.raises(IntegrityError), engine.begin() as c:
        c.execute(text("INSERT INTO log_entries (capture_id, kind, data, leaf_hash, "
                       "created_at) VALUES ('c1', 'capture', '{}', :h, CURRENT_TIMESTAMP)"),
                  {"h": b"\x02" * 32})
    engine.dispose()
