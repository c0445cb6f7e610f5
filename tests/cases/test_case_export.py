"""The case export: one zip of item bundles and the signed list, checked by `fieldproof verify`."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

from fieldproof.bundle.case import CASE_JSON, EVIDENCE_LIST, items_digest, verify_case
from fieldproof.bundle.layout import sums_text
from fieldproof.client.api import Client
from fieldproof.core.canonical import parse_json
from fieldproof.services import Services
from tests.cases.conftest import add_item, new_case
from tests.support.accounts import User
from tests.support.live import LiveServer, run_cli
from tests.support.problems import assert_problem
from tests.support.waiting import wait_until


def _export(user: User, case_id: str) -> bytes:
    r = user.client.get(f"/api/v1/cases/{case_id}/export", headers=user.auth)
    assert r.status_code == 200, r.data[:500]
    assert r.mimetype == "application/zip"
    assert f"fieldproof-case-{case_id}.zip" in r.headers["Content-Disposition"]
    assert r.headers["Content-Length"] == str(len(r.data))
    return bytes(r.data)


def _files(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def _rezip(files: dict[str, bytes], path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return path


def _case_with_items(user: User, capture_of: Any) -> tuple[dict[str, Any], list[Any]]:
    photo = capture_of(user, "photo")
    note = capture_of(user)
    case = new_case(user, "张三诉李四劳动争议", parties=[{"role": "原告", "name": "张三"}])
    add_item(user, case["id"], note["id"], title="Chat log", purpose="证明加班事实")
    add_item(user, case["id"], photo["id"], title="工资条", purpose="证明工资标准")
    return case, [note, photo]


def test_case_export_holds_every_bundle_and_verifies(user: User, capture_of: Any,
                                                     services: Services,
                                                     tmp_path: Path) -> None:
    case, (note, photo) = _case_with_items(user, capture_of)
    data = _export(user, case["id"])
    files = _files(data)
    assert set(files) == {CASE_JSON, EVIDENCE_LIST, "SHA256SUMS", "VERIFY.md",
                          "items/01-chat_log.zip", "items/02-photo.zip"}
    with zipfile.ZipFile(io.BytesIO(data)) as zf:  # bundles are zips already: stored
        assert zf.getinfo("items/01-chat_log.zip").compress_type == zipfile.ZIP_STORED
    meta = json.loads(files[CASE_JSON])
    assert (meta["type"], meta["v"], meta["id"], meta["title"]) == (
        "fieldproof.case", 1, case["id"], "张三诉李四劳动争议")
    assert meta["parties"] == [{"role": "原告", "name": "张三"}]
    assert [(i["position"], i["file"], i["capture_id"], i["title"], i["purpose"], i["kind"])
            for i in meta["items"]] == [
        (1, "items/01-chat_log.zip", note["id"], "Chat log", "证明加班事实", "import"),
        (2, "items/02-photo.zip", photo["id"], "工资条", "证明工资标准", "photo")]
    assert meta["items"][1]["media_sha256"] == photo["media"]["sha256"]
    assert meta["items_sha256"] == items_digest(meta["items"])
    digests = {n: hashlib.sha256(d).hexdigest() for n, d in files.items() if n != "SHA256SUMS"}
    assert files["SHA256SUMS"] == sums_text(digests)
    # each item is a normal bundle of that capture
    inner = _files(files["items/02-photo.zip"])
    assert hashlib.sha256(inner["manifest.json"]).hexdigest() == photo["manifest_hash"]
    assert "certificate.pdf" in inner and "derived/c2pa.jpg" in inner
    assert case["id"] in files["VERIFY.md"].decode()

    # the real CLI, offline: every item, the list's signature, exit 0
    path = tmp_path / "case.zip"
    path.write_bytes(data)
    out = run_cli("verify", str(path))
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith(f"case    {case['id']}") and "2 item(s)" in lines[0]
    assert any(line.startswith("PASS    item items/01-chat_log.zip: import " + note["id"])
               for line in lines), out.stdout
    assert any(line.startswith("PASS    item items/02-photo.zip: photo " + photo["id"])
               for line in lines), out.stdout
    assert any(line.startswith("PASS    evidence_list: evidence-list.pdf: PAdES signature")
               for line in lines), out.stdout
    assert lines[-1] == "RESULT  all checks passed, every item verified"
    js = run_cli("verify", "--json", str(path))
    assert js.returncode == 0, js.stderr
    body = json.loads(js.stdout)
    assert body["ok"] and [i["ok"] for i in body["items"]] == [True, True]
    assert body["items"][1]["report"]["capture"]["media_sha256"] == photo["media"]["sha256"]


def test_each_item_export_is_a_custody_event_naming_the_case(user: User, capture_of: Any,
                                                             services: Services) -> None:
    case, items = _case_with_items(user, capture_of)
    files = _files(_export(user, case["id"]))
    for c in items:
        events = user.client.get(f"/api/v1/captures/{c['id']}/custody",
                                 headers=user.auth).json["events"]
        exports = [e for e in events if e["event"] == "export"]
        assert len(exports) == 1, events
        assert exports[0]["detail"] == {"case": case["id"]}
        assert exports[0]["actor"] == {"user_id": exports[0]["actor"]["user_id"],
                                       "email": user.email}
    # each bundle in the zip lists its own export last (not yet in the log)
    custody = _files(files["items/01-chat_log.zip"])["custody.jsonl"].decode().splitlines()
    last = json.loads(custody[-1])
    record = parse_json(last["record"].encode())
    assert last["leaf_index"] is None
    assert (record["event"], record["detail"]) == ("export", {"case": case["id"]})


def test_tampering_is_caught_per_item(user: User, capture_of: Any, services: Services,
                                      tmp_path: Path) -> None:
    case, _ = _case_with_items(user, capture_of)
    files = _files(_export(user, case["id"]))

    # a byte of one item's media changed (and SHA256SUMS made to agree): that item fails
    inner = _files(files["items/01-chat_log.zip"])
    media = next(n for n in inner if n.startswith("media/"))
    inner[media] = inner[media][:-1] + b"X"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for n, d in inner.items():
            zf.writestr(n, d)
    forged = dict(files, **{"items/01-chat_log.zip": buf.getvalue()})
    forged["SHA256SUMS"] = sums_text({n: hashlib.sha256(d).hexdigest()
                                      for n, d in forged.items() if n != "SHA256SUMS"})
    out = run_cli("verify", str(_rezip(forged, tmp_path / "forged.zip")))
    assert out.returncode == 1, out.stdout
    assert "FAIL    item items/01-chat_log.zip" in out.stdout
    assert "PASS    item items/02-photo.zip" in out.stdout
    assert "FAIL media" in out.stdout or "FAIL SHA256SUMS" in out.stdout

    # items swapped in case.json: the signed list no longer matches
    meta = json.loads(files[CASE_JSON])
    meta["items"][0]["file"], meta["items"][1]["file"] = (meta["items"][1]["file"],
                                                          meta["items"][0]["file"])
    for e in meta["items"]:  # keep case.json consistent with the bundles it now names
        src = next(i for i in json.loads(files[CASE_JSON])["items"] if i["file"] == e["file"])
        e.update({k: src[k] for k in ("capture_id", "kind", "manifest_sha256", "media_sha256")})
    swapped = dict(files, **{CASE_JSON: json.dumps(meta).encode()})
    swapped["SHA256SUMS"] = sums_text({n: hashlib.sha256(d).hexdigest()
                                       for n, d in swapped.items() if n != "SHA256SUMS"})
    with zipfile.ZipFile(_rezip(swapped, tmp_path / "swapped.zip")) as zf:
        report = verify_case(zf)
    assert not report.ok
    failed = {r.name: r.detail for r in report.report.failed()}
    assert set(failed) == {"evidence_list"}, failed
    assert "not this export's" in failed["evidence_list"]

    # a file that no case export holds, and the evidence list's signature broken
    extra = dict(files, **{"notes.txt": b"hi"})
    extra[EVIDENCE_LIST] = files[EVIDENCE_LIST].replace(b"ReportLab Generated",
                                                        b"ReportLab Gen3rated", 1)
    out = run_cli("verify", str(_rezip(extra, tmp_path / "extra.zip")))
    assert out.returncode == 1
    assert "FAIL    layout: files no case export holds: notes.txt" in out.stdout
    assert "FAIL    evidence_list" in out.stdout and "FAIL    SHA256SUMS" in out.stdout

    # no case.json and not a bundle: unusable (exit 2)
    del files[CASE_JSON]
    out = run_cli("verify", str(_rezip(files, tmp_path / "nocase.zip")))
    assert out.returncode == 2, out.stdout + out.stderr


def test_pins_apply_to_items_and_list(user: User, capture_of: Any, services: Services,
                                      tmp_path: Path) -> None:
    case, _ = _case_with_items(user, capture_of)
    path = tmp_path / "case.zip"
    path.write_bytes(_export(user, case["id"]))
    ca = tmp_path / "ca.pem"
    ca.write_bytes(services.identity.get("pdf").root_pem)
    out = run_cli("verify", "--server-ca", str(ca), str(path))
    assert out.returncode == 0, out.stdout
    assert "(pinned)" in out.stdout
    # another CA pinned: the list (and every certificate) fails
    from fieldproof.evidence.identity import ServerIdentity

    other = ServerIdentity(tmp_path / "other-ca")
    ca.write_bytes(other.get("pdf").root_pem)
    out = run_cli("verify", "--server-ca", str(ca), str(path))
    assert out.returncode == 1
    assert "FAIL    evidence_list" in out.stdout


def test_export_refuses_empty_unanchored_and_others(user: User, make_user: Any,
                                                    capture_of: Any) -> None:
    case = new_case(user)
    assert_problem(user.client.get(f"/api/v1/cases/{case['id']}/export", headers=user.auth),
                   409, "case_empty")
    stored = capture_of(user, anchored=False)
    add_item(user, case["id"], stored["id"])
    assert_problem(user.client.get(f"/api/v1/cases/{case['id']}/export", headers=user.auth),
                   409, "not_anchored")
    events = user.client.get(f"/api/v1/captures/{stored['id']}/custody",
                             headers=user.auth).json["events"]
    assert [e for e in events if e["event"] == "export"] == []  # nothing was exported
    other = make_user()
    assert_problem(other.client.get(f"/api/v1/cases/{case['id']}/export", headers=other.auth),
                   404, "case_not_found")


def test_cli_case_commands(db_url: str, tmp_path: Path) -> None:
    """`fieldproof client case ...` against a live server (on either database)."""
    srv = LiveServer(tmp_path / "var", env={"FIELDPROOF_SEQUENCER_INTERVAL": "0.2",
                                            "DATABASE_URL": db_url})
    srv.data_dir.mkdir(parents=True)
    srv.start()
    try:
        token = srv.create_user("lawyer@example.org")
        env = {"FIELDPROOF_SERVER": srv.url, "FIELDPROOF_TOKEN": token,
               "FIELDPROOF_KEY": str(tmp_path / "device.pem")}
        assert run_cli("client", "enroll", env=env).returncode == 0
        evidence = tmp_path / "chat.txt"
        evidence.write_text("the foreman said: paid by Friday\n")
        out = run_cli("client", "capture", str(evidence), "--kind", "import", "--json", env=env)
        assert out.returncode == 0, out.stderr
        capture_id = json.loads(out.stdout)["id"]

        out = run_cli("client", "case", "create", "张三诉李四", "--party", "原告:张三",
                      "--party", "defendant: Li Si Ltd.", "--note", "labour arbitration",
                      "--json", env=env)
        assert out.returncode == 0, out.stderr
        made = json.loads(out.stdout)
        assert made["parties"] == [{"role": "原告", "name": "张三"},
                                   {"role": "defendant", "name": "Li Si Ltd."}]
        case_id = made["id"]
        out = run_cli("client", "case", "add", case_id, capture_id, "--title", "Chat",
                      "--purpose", "证明承诺", env=env)
        assert out.returncode == 0 and out.stdout.startswith(f"1 {capture_id} Chat"), out
        out = run_cli("client", "case", "list", env=env)
        assert case_id in out.stdout and "1 item(s)" in out.stdout and "张三诉李四" in out.stdout
        out = run_cli("client", "case", "list", "--json", env=env)
        assert [c["id"] for c in json.loads(out.stdout)] == [case_id]
        out = run_cli("client", "case", "show", case_id, env=env)
        assert "1. Chat" in out.stdout and "证明承诺" in out.stdout and "原告: 张三" in out.stdout
        out = run_cli("client", "case", "show", case_id, "--json", env=env)
        assert json.loads(out.stdout)["items"][0]["capture_id"] == capture_id

        # the server's sequencer anchors the capture; then it can be exported
        api = Client(srv.url, token)
        wait_until("the capture is anchored",
                   lambda: api.case(case_id)["items"][0]["capture"]["status"] == "anchored")
        api.close()
        dest = tmp_path / "case.zip"
        out = run_cli("client", "case", "export", case_id, "-o", str(dest), env=env)
        assert out.returncode == 0, out.stderr
        assert "fieldproof verify" in out.stdout
        out = run_cli("verify", str(dest))
        assert out.returncode == 0, out.stdout
        # errors: a missing case is a refusal (exit 1) with the server's code
        out = run_cli("client", "case", "show", "no-such-case", env=env)
        assert out.returncode == 1 and "case_not_found" in out.stderr
        out = run_cli("client", "case", "create", "x", "--party", "no colon", env=env)
        assert out.returncode == 2
    finally:
        srv.stop()
