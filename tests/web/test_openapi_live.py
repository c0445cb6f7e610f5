"""The OpenAPI document and the server agree: schemathesis against a live server.

Bounded (a fixed number of examples per operation, two workers). Every check
schemathesis has must pass, which means no 5xx, every response conforming to
its documented schema, content type and headers, and every schema-violating
request refused. One check is left out, on purpose: `positive_data_acceptance`
(a schema-valid request must be accepted). A request can be well-formed and
still wrong: a P-256 point that is not on the curve, a signature that does not
verify, a proof for a tree size the log never had. Those are refused with a
stable code, and JSON Schema cannot express them. And one stateful check:
`ensure_resource_availability` (a resource just created must not answer 404
to the next call) reads the 404 of `POST /cases/{id}/items` for a made-up
`capture_id` as the new case missing; the case is there, the capture is not,
and "not found" is the only answer that does not tell a stranger's capture
from none.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.live import LiveServer

SCHEMATHESIS = str(Path(sys.executable).parent / "schemathesis")


def test_the_server_keeps_to_its_openapi_document(tmp_path: Path) -> None:
    assert shutil.which(SCHEMATHESIS), "schemathesis is a dev dependency (make install)"
    srv = LiveServer(tmp_path / "var", env={
        "FIELDPROOF_SEQUENCER_INTERVAL": "0.2",
        # the public endpoints' rate limit would answer most requests 429
        "FIELDPROOF_PUBLIC_BURST": "100000", "FIELDPROOF_PUBLIC_PER_SECOND": "1000"})
    srv.data_dir.mkdir(parents=True)
    srv.start()
    try:
        token = srv.create_user("schemathesis@example.org")
        out = subprocess.run(
            [SCHEMATHESIS, "run", f"{srv.url}/api/v1/openapi.json",
             "--header", f"Authorization: Bearer {token}",
             "--checks", "all", "--exclude-checks",
             "positive_data_acceptance,ensure_resource_availability",
             "--max-examples", "25", "--workers", "2", "--seed", "9",
             # these end the token the run is using
             "--exclude-path", "/auth/logout", "--exclude-path", "/auth/renew",
             "--exclude-path", "/auth/tokens/{token_id}",
             "--no-color"],
            capture_output=True, text=True, timeout=900, cwd=tmp_path)
    finally:
        srv.stop()
    report = out.stdout[-6000:]
    assert out.returncode == 0, report
    assert "passed" in report and "failure" not in report.lower().split("test cases")[-1]


def test_receipt_schema_names_every_field_the_server_sends() -> None:
    from datetime import UTC, datetime

    from fieldproof.log.log import Receipt, StampRecord
    from fieldproof.web.openapi import spec
    from fieldproof.web.serialize import receipt_json

    now = datetime.now(UTC)
    sent = receipt_json(Receipt(
        capture_id="c", origin="o", leaf_index=0, tree_size=1, entry="{}", leaf_hash=b"\0" * 32,
        inclusion_proof=(), checkpoint="n", checkpoint_root=b"\0" * 32,
        checkpoint_created_at=now, timestamps=(StampRecord("t", True, b"x", now),)))
    schema = spec()["components"]["schemas"]["Receipt"]
    assert set(sent) == set(schema["properties"])
    assert set(sent["timestamps"][0]) == set(schema["properties"]["timestamps"]["items"][
        "properties"])
