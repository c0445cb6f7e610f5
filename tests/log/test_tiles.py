"""The log as C2SP tlog-tiles, read back by a reader written here from the spec alone.

``SpecReader`` shares no code with the server (no fieldproof.core): it knows
c2sp.org/tlog-tiles (paths, widths, framing), c2sp.org/signed-note and RFC
9162, and rebuilds the root twice, from the entry bundles and from the hash
tiles, for the signed checkpoint to match. Both stores (filesystem, and a real
S3 server) and both databases.
"""

from __future__ import annotations

import base64
import hashlib
import struct
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from flask.testing import FlaskClient
from sqlalchemy import insert, update

from fieldproof.client.audit import _audit
from fieldproof.config import S3Settings, Settings
from fieldproof.db import LogEntry
from fieldproof.db.models import utcnow
from fieldproof.errors import LogCorrupt
from fieldproof.log.tiles import Tiles
from fieldproof.services import Services
from fieldproof.web import create_app
from tests.support.postgres import fresh_pg_schema
from tests.support.problems import assert_problem
from tests.support.s3server import S3Server


# --------------------------------------------------------------------------- the reader
def _h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def spec_index(n: int) -> str:
    digits = str(n)
    digits = digits.zfill(-(-len(digits) // 3) * 3)
    groups = [digits[i:i + 3] for i in range(0, len(digits), 3)]
    return "/".join([f"x{g}" for g in groups[:-1]] + [groups[-1]])


class SpecReader:
    """A tlog-tiles client: ``get(path)`` fetches a path under the log's prefix."""

    def __init__(self, get: Callable[[str], bytes], vkey: str) -> None:
        self.get = get
        name, key_hash, key = vkey.split("+", 2)
        raw = base64.b64decode(key)
        assert raw[0] == 1 and len(raw) == 33
        assert _h(name.encode() + b"\n" + raw)[:4].hex() == key_hash
        self.name, self.key_hash, self.key = name, bytes.fromhex(key_hash), raw[1:]
        self.fetched: list[str] = []

    def fetch(self, path: str) -> bytes:
        self.fetched.append(path)
        return self.get(path)

    def checkpoint(self) -> tuple[str, int, bytes]:
        """(origin, size, root) of the signed checkpoint, its signature verified."""
        note = self.fetch("checkpoint").decode()
        body, sigs = note.split("\n\n", 1)
        for line in sigs.splitlines():
            dash, name, sig_b64 = line.split(" ")
            sig = base64.b64decode(sig_b64)
            if dash == "\u2014" and name == self.name and sig[:4] == self.key_hash:
                Ed25519PublicKey.from_public_bytes(self.key).verify(sig[4:], (body + "\n").encode())
                origin, size, root = body.split("\n")
                return origin, int(size), base64.b64decode(root)
        raise AssertionError("no signature by the log's key")

    @staticmethod
    def width(level: int, n: int, size: int) -> int:
        return min(256, (size >> (8 * level)) - 256 * n)

    def path(self, level: str, n: int, width: int) -> str:
        return f"tile/{level}/{spec_index(n)}" + (f".p/{width}" if width < 256 else "")

    def entries(self, size: int) -> list[bytes]:
        out: list[bytes] = []
        for n in range(-(-size // 256)):
            width = self.width(0, n, size)
            data, at, got = self.fetch(self.path("entries", n, width)), 0, 0
            while at < len(data):
                (length,) = struct.unpack(">H", data[at:at + 2])
                out.append(data[at + 2:at + 2 + length])
                at, got = at + 2 + length, got + 1
            assert at == len(data) and got == width
        return out

    def tile_hash(self, level: int, index: int, size: int, cache: dict[str, bytes]) -> bytes:
        n, i = divmod(index, 256)
        path = self.path(str(level), n, self.width(level, n, size))
        if path not in cache:
            cache[path] = self.fetch(path)
            assert len(cache[path]) == 32 * self.width(level, n, size)
        return cache[path][32 * i:32 * i + 32]

    def root_from_tiles(self, size: int) -> bytes:
        cache: dict[str, bytes] = {}

        def mth(lo: int, hi: int) -> bytes:
            n = hi - lo
            for level in range(8):
                if n == 256 ** level and lo % n == 0:
                    return self.tile_hash(level, lo // n, size, cache)
            k = 1 << ((n - 1).bit_length() - 1)
            return _h(b"\x01" + mth(lo, lo + k) + mth(lo + k, hi))

        return mth(0, size) if size else _h(b"")


def mth_of_entries(entries: list[bytes]) -> bytes:
    def mth(leaves: list[bytes]) -> bytes:
        if len(leaves) == 1:
            return leaves[0]
        k = 1 << ((len(leaves) - 1).bit_length() - 1)
        return _h(b"\x01" + mth(leaves[:k]) + mth(leaves[k:]))

    return mth([_h(b"\x00" + e) for e in entries]) if entries else _h(b"")


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(params=["filesystem-sqlite", "filesystem-postgresql", "s3-sqlite"])
def tiled(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Services]:
    """Both stores and both databases (S3 once: the store is what differs there)."""
    store, db = request.param.split("-")
    db_url = (f"sqlite:///{tmp_path / 'db.sqlite3'}" if db == "sqlite"
              else fresh_pg_schema(request.getfixturevalue("pg_database")))
    s3 = None
    if store == "s3":
        server: S3Server = request.getfixturevalue("s3_server")
        s3 = S3Settings(endpoint=server.endpoint, access_key=server.access_key,
                        secret_key=server.secret_key, bucket=f"tiles-{uuid.uuid4().hex[:12]}",
                        secure=False)
    svc = Services.build(Settings(data_dir=tmp_path / "var", database_url=db_url, testing=True,
                                  s3=s3))
    yield svc
    svc.close()


def grow(svc: Services, n: int, *, start: int = 0) -> None:
    """Append ``n`` leaves (valid custody entries) and integrate them."""
    rows = []
    for i in range(start, start + n):
        data = (b'{"record_sha256":"' + _h(i.to_bytes(8, "big")).hex().encode()
                + b'","type":"fieldproof.custody","v":1}')
        rows.append({"kind": "custody", "data": data.decode(), "capture_id": None,
                     "leaf_hash": _h(b"\x00" + data), "created_at": utcnow()})
    with svc.db.session() as s:
        for i in range(0, len(rows), 5000):
            s.execute(insert(LogEntry), rows[i:i + 5000])
    while svc.sequencer.integrate():
        pass


def http_reader(client: FlaskClient, svc: Services) -> SpecReader:
    trust = client.get("/api/v1/trust").json
    assert trust["tiles_url"] == "http://localhost/tiles"

    def get(path: str) -> bytes:
        r = client.get(f"/tiles/{path}")
        assert r.status_code == 200, (path, r.status_code)
        return r.data

    return SpecReader(get, trust["log"]["vkey"])


def check_tiles(reader: SpecReader, svc: Services, size: int) -> None:
    origin, got_size, root = reader.checkpoint()
    assert (origin, got_size) == (svc.log.origin, size)
    assert root == svc.log.latest_checkpoint().root
    entries = reader.entries(size)
    assert mth_of_entries(entries) == root  # from the entry bundles alone
    assert reader.root_from_tiles(size) == root  # from the hash tiles alone


# --------------------------------------------------------------------------- tests
def test_tiles_rebuild_the_signed_root(tiled: Services) -> None:
    client = create_app(services=tiled).test_client()
    # size 0: there is no checkpoint, and no tile
    assert_problem(client.get("/tiles/checkpoint"), 404, "no_checkpoint")
    assert_problem(client.get("/tiles/tile/0/000.p/1"), 404, "not_found")
    reader = http_reader(client, tiled)
    size = 0
    for target in (1, 255, 256, 257, 600):
        grow(tiled, target - size, start=size)
        size = target
        check_tiles(reader, tiled, size)

    # what a static host would serve: the stored objects, under the same names
    if tiled.store.name == "filesystem":
        objects = tiled.settings.data_dir / "store" / "objects" / "tiles"
        for path in set(reader.fetched):
            assert (objects / path).read_bytes() == client.get(f"/tiles/{path}").data
    # the partial tiles of every earlier checkpoint whose tile is still partial are kept
    for never in ("tile/1/000.p/3", "tile/0/002.p/87"):  # no checkpoint had these
        assert client.get(f"/tiles/{never}").status_code == 404
    for path in ("tile/0/002.p/88", "tile/entries/002.p/88", "tile/1/000.p/1",
                 "tile/1/000.p/2"):
        assert client.get(f"/tiles/{path}").status_code == 200, path

    full = client.get("/tiles/tile/0/000")
    assert full.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert full.mimetype == "application/octet-stream" and len(full.data) == 8192
    partial = client.get("/tiles/tile/entries/002.p/88")
    assert partial.headers["Cache-Control"] == "public, max-age=5"
    cp = client.get("/tiles/checkpoint")
    assert cp.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert cp.headers["Cache-Control"] == "no-cache"
    assert cp.headers["Access-Control-Allow-Origin"] == "*"
    for bad in ("tile/0/0", "tile/0/x000/001", "tile/0/000.p/256", "tile/64/000", "tilez",
                "tile/entries/000.p/0"):
        assert_problem(client.get(f"/tiles/{bad}"), 404, "not_found")


@pytest.mark.slow  # about 25 s
def test_a_big_tree(tmp_path: Path) -> None:
    """65,537 leaves: a level-2 tile appears, and level 1 has a full tile."""
    svc = Services.build(Settings(data_dir=tmp_path / "var", testing=True,
                                  database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}"))
    try:
        svc.sequencer.batch_max = 70_000
        grow(svc, 65_535)
        grow(svc, 2, start=65_535)  # 65,536 and then one more, in one batch
        client = create_app(services=svc).test_client()
        reader = http_reader(client, svc)
        check_tiles(reader, svc, 65_537)
        assert "tile/2/000.p/1" in reader.fetched and "tile/0/256.p/1" in reader.fetched
        report = _audit(_api(client), None, None, 5, _tile_getter(client))
        assert report.ok, report.lines()
    finally:
        svc.close()


def _api(client: FlaskClient) -> Callable[..., Any]:
    def get(path: str, **params: Any) -> Any:
        r = client.get("/api/v1" + path, query_string=params)
        assert r.status_code == 200, (path, r.status_code)
        return r.json if r.is_json else r.text
    return get


def _tile_getter(client: FlaskClient) -> Callable[[str], bytes | None]:
    def get(path: str) -> bytes | None:
        r = client.get(f"/tiles/{path}")
        return r.data if r.status_code == 200 else None
    return get


def test_a_crash_before_the_checkpoint_is_caught_up(tiled: Services,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    client = create_app(services=tiled).test_client()
    grow(tiled, 250)
    put = Tiles._put

    def no_checkpoint(self: Tiles, key: str, data: bytes) -> None:
        if key == "tiles/checkpoint":
            raise OSError("crash before the checkpoint (injected)")
        put(self, key, data)

    monkeypatch.setattr(Tiles, "_put", no_checkpoint)
    grow(tiled, 10, start=250)  # committed; its tiles written, the checkpoint not
    grow(tiled, 300, start=260)
    assert client.get("/api/v1/log").json["tree_size"] == 560
    reader = http_reader(client, tiled)
    assert reader.checkpoint()[1] == 250  # still the old one, with all it needs
    assert mth_of_entries(reader.entries(250)) == reader.checkpoint()[2]
    assert client.get("/tiles/tile/0/000").status_code == 200  # written before the crash

    monkeypatch.undo()
    tiled.sequencer.publish_tiles()  # the next tick
    check_tiles(reader, tiled, 560)


def test_a_changed_full_tile_stops_publishing(tiled: Services, tmp_path: Path) -> None:
    client = create_app(services=tiled).test_client()
    grow(tiled, 256)
    spoiled = tmp_path / "spoiled"
    spoiled.write_bytes(b"\x00" * 8192)
    tiled.store.put_file("tiles/tile/0/000", spoiled)
    tiled.tiles._published = None  # as after a restart
    grow(tiled, 1, start=256)  # a partial tile of a new width, the full one unchanged
    assert http_reader(client, tiled).checkpoint()[1] == 257

    # the next process finds the full tile of its batch already there, and different
    tiled.store.delete("tiles/checkpoint")
    tiled.tiles._published = None
    with pytest.raises(LogCorrupt, match="differs"):
        tiled.tiles.publish()
    assert_problem(client.get("/tiles/checkpoint"), 404, "no_checkpoint")


def test_audit_reads_the_tiles(tiled: Services) -> None:
    client = create_app(services=tiled).test_client()
    grow(tiled, 300)
    report = _audit(_api(client), None, None, 10, _tile_getter(client))
    assert report.ok, report.lines()
    lines = "\n".join(report.lines())
    assert "PASS    tiles entries: 300 leaves from the entry bundles rebuild the signed root" \
        in lines and "PASS    tiles hashes: 3 hash tiles match" in lines

    # a tile changed in the store: the audit names it
    spoiled = Path(tiled.settings.data_dir / "tmp" / "spoiled")
    spoiled.write_bytes(b"\x01" * (32 * 44))
    tiled.store.put_file("tiles/tile/0/001.p/44", spoiled)
    report = _audit(_api(client), None, None, 10, _tile_getter(client))
    assert not report.ok
    assert "FAIL    tiles hashes: 1 hash tiles wrong, first tile/0/001.p/44" in \
        "\n".join(report.lines())


def test_a_changed_entry_is_never_bundled(tiled: Services) -> None:
    client = create_app(services=tiled).test_client()
    grow(tiled, 3)
    with tiled.db.session() as s:
        s.execute(update(LogEntry).where(LogEntry.leaf_index == 1)
                  .values(data=LogEntry.data + " "))
    grow(tiled, 1, start=3)  # its bundle would carry the changed row
    assert client.get("/api/v1/log").json["tree_size"] == 4
    reader = http_reader(client, tiled)
    assert reader.checkpoint()[1] == 3  # not published: the tiles stay as they were
    assert client.get("/tiles/tile/entries/000.p/4").status_code == 404
    with pytest.raises(LogCorrupt, match="leaf 1 no longer hashes"):
        tiled.tiles.publish()
