"""`fieldproof client receipt` and `log audit` against a live server on PostgreSQL:
the receipt is bound to its capture, served times equal the tokens', trust
anchors really pin, no account is needed with a hash, and every client is a
witness that catches a rewritten history (the fork drill)."""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fieldproof.client.api import Client, DeviceKeyFile
from fieldproof.core import merkle
from fieldproof.core.canonical import canonicalize
from fieldproof.core.checkpoint import Checkpoint, Signer
from fieldproof.core.cosignature import Cosigner, CosignerKey
from fieldproof.core.timestamp import parse_token
from fieldproof.log.keys import load_or_create_signer
from fieldproof.tsa.embedded import EmbeddedTSA
from tests.support.live import LiveServer, run_cli
from tests.support.photos import jpeg
from tests.support.postgres import fresh_pg_schema
from tests.support.waiting import wait_until
from tests.support.witness import WitnessServer


@pytest.fixture
def db_url(pg_database: str) -> str:
    return fresh_pg_schema(pg_database)


def _sql(db_url: str, sql: str, *params: Any) -> list[Any]:
    url = db_url.replace("postgresql+psycopg://", "postgresql://")
    url, _, schema = url.partition("?options=-csearch_path%3D")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        cur = conn.execute(sql, params or None)
        return cur.fetchall() if cur.description else []


class Live:
    def __init__(self, tmp_path: Path, db_url: str, env: dict[str, str] | None = None) -> None:
        self.tmp = tmp_path
        self.db_url = db_url
        self.srv = LiveServer(tmp_path / "var", env={"FIELDPROOF_SEQUENCER_INTERVAL": "0.2",
                                                     "DATABASE_URL": db_url, **(env or {})})
        self.srv.data_dir.mkdir(parents=True, exist_ok=True)
        self.srv.start()
        self.token = self.srv.create_user(f"r{time.monotonic_ns()}@example.org")
        self.api = Client(self.srv.url, self.token)
        self.key = DeviceKeyFile.load_or_create(tmp_path / "dev.pem", create=True)
        self.api.enroll(self.key)
        self.files: list[Path] = []
        self.ids: list[str] = []

    def capture(self, n: int) -> None:
        for _ in range(n):
            f = self.tmp / f"p{len(self.files)}.jpg"
            f.write_bytes(jpeg(make=f"receipt{len(self.files)}"))
            self.files.append(f)
            self.ids.append(self.api.capture_file(self.key, f, kind="photo")["id"])
        wait_until("captures anchored",
                   lambda: all(self.api.capture(i)["status"] == "anchored" for i in self.ids),
                   timeout=30)

    def receipt(self, *args: str, token: bool = True) -> subprocess.CompletedProcess[str]:
        env = {"FIELDPROOF_SERVER": self.srv.url, "FIELDPROOF_TOKEN": self.token if token else ""}
        return run_cli("client", "receipt", *args, env=env)

    def audit(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_cli("log", "audit", "--server", self.srv.url, *args)


@pytest.fixture
def live(tmp_path: Path, db_url: str) -> Iterator[Live]:
    lv = Live(tmp_path, db_url)
    try:
        yield lv
    finally:
        lv.srv.stop()


def _out(p: subprocess.CompletedProcess[str]) -> str:
    return p.stdout + p.stderr


def test_receipt_is_bound_to_its_capture(live: Live) -> None:
    live.capture(2)
    a, b = live.ids
    ok = live.receipt(a, "--no-state")
    assert ok.returncode == 0, _out(ok)
    assert "PASS    entry: the entry is this capture's" in ok.stdout

    # the caller's own hash binds as well: the file of a is not in b's entry
    mine = live.receipt(b, "--no-state", "--file", str(live.files[0]))
    assert mine.returncode == 1 and "neither media nor manifest" in mine.stdout, _out(mine)

    # the audit's case: the server answers capture a with b's (valid) entry
    _sql(live.db_url, "UPDATE log_entries SET capture_id = NULL "
                      "WHERE kind = 'capture' AND capture_id = %s", a)
    _sql(live.db_url, "UPDATE log_entries SET capture_id = %s "
                      "WHERE kind = 'capture' AND capture_id = %s", a, b)
    bad = live.receipt(a, "--no-state")
    assert bad.returncode == 1, _out(bad)
    assert "FAIL    entry" in bad.stdout and "media SHA-256" in bad.stdout
    assert "PASS    inclusion" in bad.stdout  # the proof itself is fine: only the binding fails


def test_served_gen_time_must_be_the_tokens(live: Live) -> None:
    live.capture(1)
    _sql(live.db_url, "UPDATE log_timestamps SET gen_time = gen_time - interval '3 hours'")
    bad = live.receipt(live.ids[0], "--no-state")
    assert bad.returncode == 1, _out(bad)
    assert "FAIL    timestamp" in bad.stdout and "the token says" in bad.stdout
    audit = live.audit("--no-state")
    assert audit.returncode == 1 and "the token says" in audit.stdout, _out(audit)


def test_audit_accepts_a_checkpoint_newer_than_the_one_it_audited(live: Live) -> None:
    """The log grows while an audit runs (CI caught this race): the served checkpoint
    may be newer than the audited list's last, if it is signed and consistent with it;
    an older one, or a newer one that forks, still fails."""
    from fieldproof.client.audit import _check_latest
    from fieldproof.core.checkpoint import Verifier
    from fieldproof.core.report import Report

    live.capture(2)
    api = httpx.Client(base_url=live.srv.url + "/api/v1", timeout=30)

    def get(path: str, **params: Any) -> Any:
        r = api.get(path, params=params)
        r.raise_for_status()
        return r.json() if r.headers["content-type"].startswith("application/json") else r.text

    verifier = Verifier.parse(get("/trust")["log"]["vkey"])
    audited = get("/log/checkpoints")["checkpoints"][-1]
    live.capture(3)  # the log moves on
    latest = get("/log/checkpoint").encode()
    assert Checkpoint.parse(verifier.open(latest)).size > audited["tree_size"]

    def verdict(cp: dict[str, Any], note: bytes) -> str:
        report = Report()
        _check_latest(report, verifier, cp, note, get)
        (check,) = [c for c in report.results if c.name == "latest"]
        return ("PASS " if check.ok else "FAIL ") + check.detail

    assert verdict(audited, latest).startswith("PASS "), verdict(audited, latest)
    assert "consistent with it" in verdict(audited, latest)
    # the audited list's own newest checkpoint served as latest: plain pass
    assert verdict(audited, audited["checkpoint"].encode()).startswith("PASS ")
    # an older checkpoint served as the newest fails
    newest = get("/log/checkpoints")["checkpoints"][-1]
    assert verdict(newest, audited["checkpoint"].encode()).startswith("FAIL ")
    # a newer checkpoint whose tree does not extend the audited one fails
    forked = dict(audited, root="A" * 43 + "=")
    assert verdict(forked, latest).startswith("FAIL ")


def test_pins_really_pin(live: Live, tmp_path: Path) -> None:
    live.capture(1)
    cid = live.ids[0]
    info = httpx.get(live.srv.url + "/api/v1/log").json()
    (tmp_path / "log.vkey").write_text(info["vkey"] + "\n")
    (tmp_path / "root.pem").write_text(info["tsa"][0]["chain_pem"][-1])
    good = live.receipt(cid, "--no-state", "--log-key", str(tmp_path / "log.vkey"),
                        "--tsa-root", str(tmp_path / "root.pem"))
    assert good.returncode == 0, _out(good)
    assert "(pinned)" in good.stdout and "as served" not in good.stdout

    other = Signer(info["origin"], Ed25519PrivateKey.generate()).verifier.vkey()
    wrong_key = live.receipt(cid, "--no-state", "--log-key", other)
    assert wrong_key.returncode == 1 and "FAIL    checkpoint" in wrong_key.stdout, \
        _out(wrong_key)

    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(tmp_path / "k.pem"),
                    "-out", str(tmp_path / "other.pem"), "-subj", "/CN=Some other root",
                    "-days", "2"], check=True, capture_output=True)
    wrong_root = live.receipt(cid, "--no-state", "--tsa-root", str(tmp_path / "other.pem"))
    assert wrong_root.returncode == 1 and "FAIL    timestamp" in wrong_root.stdout, \
        _out(wrong_root)
    (tmp_path / "junk.pem").write_text("not a certificate")
    junk = live.receipt(cid, "--no-state", "--tsa-root", str(tmp_path / "junk.pem"))
    assert junk.returncode == 2 and "tsa_root_invalid" in junk.stderr, _out(junk)


def test_receipt_without_an_account(live: Live) -> None:
    live.capture(1)
    # the server said on start that nobody independent dates its evidence
    first_lines = (live.srv.data_dir.parent / f"server-{live.srv.port}.log").read_text()
    assert "Timestamps: NO external TSA is configured" in first_lines
    pub = live.receipt("--no-state", "--file", str(live.files[0]), token=False)
    assert pub.returncode == 0, _out(pub)
    assert "PASS    inclusion" in pub.stdout and "PASS    entry" in pub.stdout
    unknown = live.receipt("--no-state", "--sha256", "0002" + "0" * 60, token=False)
    assert unknown.returncode == 1 and "no anchored capture" in unknown.stderr, _out(unknown)
    assert live.receipt(live.ids[0], "--no-state", token=False).returncode == 2  # no hash


# ------------------------------------------------------------------------ the fork drill
def _rewrite_history(live: Live) -> None:
    """What the audit did: change leaf 0, rebuild the nodes, re-sign every checkpoint with
    the log's own key and re-mint every embedded TSA token. The server is stopped."""
    keys = live.srv.data_dir / "keys"
    signer = load_or_create_signer(keys, "fieldproof.local/log")
    tsa = EmbeddedTSA.load_or_create(keys / "tsa")
    rows = _sql(live.db_url, "SELECT leaf_index, data FROM log_entries "
                             "WHERE leaf_index IS NOT NULL ORDER BY leaf_index")
    entry = json.loads(rows[0][1])
    field = "media_sha256" if "media_sha256" in entry else "record_sha256"
    entry[field] = "0002" + "0" * 60
    data0 = canonicalize(entry)
    _sql(live.db_url, "UPDATE log_entries SET data = %s, leaf_hash = %s WHERE leaf_index = 0",
         data0.decode(), merkle.leaf_hash(data0))
    sizes = {r[0] for r in _sql(live.db_url, "SELECT size FROM log_checkpoints")}
    app = merkle.Appender(0, {})
    nodes: dict[merkle.NodeId, bytes] = {}
    roots = {}
    for index, data in rows:
        nodes.update(app.append(merkle.leaf_hash(data0 if index == 0 else data.encode())))
        if app.size in sizes:
            roots[app.size] = app.root()
    _sql(live.db_url, "DELETE FROM log_nodes")
    for (level, idx), h in nodes.items():
        _sql(live.db_url, "INSERT INTO log_nodes (level, idx, hash) VALUES (%s, %s, %s)",
             level, idx, h)
    for size, root in roots.items():
        note = signer.sign(Checkpoint("fieldproof.local/log", size, root).body())
        _sql(live.db_url, "UPDATE log_checkpoints SET root = %s, note = %s WHERE size = %s",
             root, note.decode(), size)
        for (tid,) in _sql(live.db_url, "SELECT id FROM log_timestamps WHERE checkpoint_size "
                                        "= %s AND token IS NOT NULL", size):
            token = tsa.stamp(note)
            _sql(live.db_url, "UPDATE log_timestamps SET token = %s, gen_time = %s "
                              "WHERE id = %s", token, parse_token(token).gen_time, tid)


def test_fork_drill(live: Live, tmp_path: Path) -> None:
    live.capture(2)
    cid = next(i for i in live.ids if live.api.receipt(i)["leaf_index"] != 0)
    state_r, state_a = tmp_path / "state-receipt", tmp_path / "state-audit"
    first = live.receipt(cid, "--state", str(state_r))
    assert first.returncode == 0, _out(first)
    assert "PASS    witness: first checkpoint" in first.stdout
    again = live.receipt(cid, "--state", str(state_r))
    assert again.returncode == 0 and "PASS    witness: checkpoint" in again.stdout, _out(again)
    assert live.audit("--state", str(state_a)).returncode == 0
    assert stat.S_IMODE(state_r.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in state_r.iterdir())

    live.srv.stop()
    _rewrite_history(live)
    live.srv.start()
    # the tiles published before the rewrite are a copy it did not reach: the audit,
    # which reads them, sees the database's entries differ from them
    stale = live.audit("--no-state")
    assert stale.returncode == 1 and "FAIL    tiles" in stale.stdout, _out(stale)
    # a thorough operator wipes the published tiles too; they are written again
    # from the rewritten rows
    live.srv.stop()
    shutil.rmtree(live.srv.data_dir / "store" / "objects" / "tiles")
    live.srv.start()
    deadline = time.monotonic() + 30
    while live.audit("--no-state").returncode != 0 and time.monotonic() < deadline:
        time.sleep(0.5)  # the sequencer rewrites the tiles on its next tick

    # from its own answers alone, the rewritten log is flawless ...
    fresh = live.receipt(cid, "--no-state")
    assert fresh.returncode == 0, _out(fresh)
    assert live.audit("--no-state").returncode == 0
    # ... but not to a client that kept an earlier checkpoint
    for run, state in ((live.receipt(cid, "--state", str(state_r)), state_r),
                       (live.audit("--state", str(state_a)), state_a)):
        assert run.returncode == 1, _out(run)
        assert "FAIL    fork: LOG FORK" in run.stdout and "日志分叉" in run.stdout
        [fork] = state.glob("fork-*")
        old, new = (fork / "old.note").read_text(), (fork / "new.note").read_text()
        assert old != new and old.startswith("fieldproof.local/log\n")
        assert stat.S_IMODE((fork / "new.note").stat().st_mode) == 0o600


def test_serve_says_whether_an_external_tsa_is_configured() -> None:
    from fieldproof.cli.serve import tsa_notice

    assert "NO external TSA" in tsa_notice(0) and "could re-date" in tsa_notice(0)
    assert "未配置任何外部 TSA" in tsa_notice(0)
    assert "1 external RFC 3161 TSA(s) configured" in tsa_notice(1)


# ------------------------------------------------------- the fork drill, with a witness
def test_a_pinned_witness_refuses_a_rewritten_history(tmp_path: Path, db_url: str) -> None:
    """The audit's rewrite, against a log that asks a witness (a real `fieldproof witness
    serve`) to cosign: the witness refuses it, and `verify` / `log audit` / `client
    receipt` with the witness pinned fail, where without the pin they pass."""
    keys = tmp_path / "var" / "keys"
    keys.mkdir(parents=True)
    log_vkey = load_or_create_signer(keys, "fieldproof.local/log").verifier.vkey()
    witness = WitnessServer(tmp_path / "witness", "witness.test/w1", (log_vkey,))
    (tmp_path / "witness").mkdir()
    witness.start()
    wkey = CosignerKey.parse(witness.vkey)
    live = Live(tmp_path, db_url, env={"FIELDPROOF_WITNESSES": f"{witness.url}|{witness.vkey}"})
    try:
        _witness_drill(live, witness, wkey, tmp_path)
    finally:
        live.srv.stop()
        witness.stop()


def _cosigned_latest(live: Live, wkey: CosignerKey) -> bool:
    note = httpx.get(live.srv.url + "/api/v1/log/checkpoint").content
    size = int(note.split(b"\n")[1])
    return wkey.timestamp(note) is not None and size == live.api.log_info()["tree_size"]


def _witness_drill(live: Live, witness: WitnessServer, wkey: CosignerKey,
                   tmp_path: Path) -> None:
    live.capture(2)
    cid = next(i for i in live.ids if live.api.receipt(i)["leaf_index"] != 0)
    wait_until("the newest checkpoint cosigned", lambda: _cosigned_latest(live, wkey))
    trust = httpx.get(live.srv.url + "/api/v1/trust").json()
    assert [w["vkey"] for w in trust["witnesses"]] == [witness.vkey]
    wait_until("the tiles' checkpoint cosigned", lambda: wkey.timestamp(
        httpx.get(trust["tiles_url"] + "/checkpoint").content) is not None)
    assert "witness.test/w1" in live.api.receipt(cid)["cosignatures"]
    other = Cosigner.generate("witness.test/w2").key.vkey()

    good = tmp_path / "good.zip"
    live.api.export(cid, good)
    with zipfile.ZipFile(good) as zf:
        assert {"cosigned/checkpoint.txt", "keys/witnesses.vkey"} <= set(zf.namelist())
    ok = run_cli("verify", str(good), "--witness", witness.vkey)
    assert ok.returncode == 0 and "PASS    witnesses: 1 of 1 pinned" in ok.stdout, _out(ok)
    assert run_cli("verify", str(good), "--witness", other).returncode == 1
    two = run_cli("verify", str(good), "--witness", witness.vkey, "--witness", other,
                  "--witnesses-required", "1")
    assert two.returncode == 0, _out(two)
    assert live.receipt(cid, "--no-state", "--witness", witness.vkey).returncode == 0
    audit = live.audit("--no-state", "--witness", witness.vkey)
    assert audit.returncode == 0 and "PASS    witnesses" in audit.stdout, _out(audit)

    # the rewrite, by an operator thorough enough to drop the old cosignatures and the
    # published tiles too: nothing the server holds shows it any more
    live.srv.stop()
    _rewrite_history(live)
    _sql(live.db_url, "DELETE FROM log_cosignatures")
    shutil.rmtree(live.srv.data_dir / "store" / "objects" / "tiles")
    live.srv.start()
    live.capture(1)  # a new checkpoint, sent to the witness ...
    wait_until("the witness refused the rewritten log",
               lambda: any((witness.data_dir / "refused").iterdir()))
    server_log = live.srv.data_dir.parent / f"server-{live.srv.port}.log"
    # ... which refused it: the same size with another root (409), then a bigger tree
    # whose consistency proof from what it cosigned does not verify (422)
    wait_until("the witness refused a proof",
               lambda: "did not cosign checkpoint" in server_log.read_text()
               and "proof_invalid" in server_log.read_text())
    refused = sorted((witness.data_dir / "refused").iterdir())
    assert all(r.read_bytes().startswith(b"# refused: ") for r in refused)
    assert not _cosigned_latest(live, wkey)

    # from its own answers alone the rewritten log still passes ...
    bad = tmp_path / "rewritten.zip"
    live.api.export(live.ids[-1], bad)
    assert run_cli("verify", str(bad)).returncode == 0
    assert live.audit("--no-state").returncode == 0
    # ... but not with the witness pinned
    caught = run_cli("verify", str(bad), "--witness", witness.vkey)
    assert caught.returncode == 1, _out(caught)
    assert "FAIL    witnesses: 0 of 1 pinned witnesses cosigned" in caught.stdout
    audit = live.audit("--no-state", "--witness", witness.vkey)
    assert audit.returncode == 1 and "FAIL    witnesses" in audit.stdout, _out(audit)
    receipt = live.receipt(live.ids[-1], "--no-state", "--witness", witness.vkey)
    assert receipt.returncode == 1 and "FAIL    witnesses" in receipt.stdout, _out(receipt)
