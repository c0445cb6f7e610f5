"""Wire settings into a database, a store and the services that use them."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import Settings
from ..db import Database
from ..storage import FilesystemStore, ObjectStore, S3Store
from .accounts import Accounts
from .ingest import Ingest


def make_store(settings: Settings) -> ObjectStore:
    if settings.s3 is not None:
        s3 = settings.s3
        return S3Store(s3.endpoint, s3.access_key, s3.secret_key, s3.bucket, secure=s3.secure,
                       region=s3.region, retention_days=s3.retention_days,
                       tmp_dir=settings.data_dir / "tmp")
    return FilesystemStore(settings.data_dir / "store")


@dataclass
class Services:
    settings: Settings
    db: Database
    store: ObjectStore
    accounts: Accounts
    ingest: Ingest

    @classmethod
    def build(cls, settings: Settings, *, migrate: bool = True) -> Services:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        db = Database(settings.db_url)
        if migrate:
            db.migrate()
        store = make_store(settings)
        return cls(settings=settings, db=db, store=store, accounts=Accounts(db),
                   ingest=Ingest(db, store, settings))

    def close(self) -> None:
        self.db.dispose()
