"""The README's transcript commands, as a user types them, against a real server."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.live import LiveServer, run_cli
from tests.support.speech import speech

pytestmark = pytest.mark.slow


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
    srv = LiveServer(tmp_path / "var", env={"FIELDPROOF_SEQUENCER_INTERVAL": "0.2"})
    srv.data_dir.mkdir()
    srv.start()
    try:
        yield {"FIELDPROOF_SERVER": srv.url, "FIELDPROOF_TOKEN": srv.create_user("me@example.org"),
               "FIELDPROOF_KEY": str(tmp_path / "device.pem")}
    finally:
        srv.stop()


def test_stream_transcribe_pdf_export_verify(env: dict[str, str], tmp_path: Path) -> None:
    clip, _ = speech(tmp_path)
    assert run_cli("client", "enroll", env=env).returncode == 0
    out = run_cli("client", "stream", str(clip), "--kind", "audio", env=env)
    assert out.returncode == 0, out.stderr
    cid = out.stdout.split()[0]
    pdf = tmp_path / "t.pdf"
    out = run_cli("client", "transcript", cid, "--language", "en", "--pdf", str(pdf), env=env,
                  timeout=600)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("version 1 (machine)"), out.stdout
    assert "landlord" in out.stdout.lower() and "[0:0" in out.stdout, out.stdout
    sig = subprocess.run(["pdfsig", str(pdf)], capture_output=True, text=True)
    assert "Signature is Valid" in sig.stdout, sig.stdout
    shown = run_cli("client", "transcript", cid, "--show", env=env)
    assert shown.stdout.splitlines()[0] == out.stdout.splitlines()[0]
    bundle = tmp_path / "b.zip"
    assert run_cli("client", "export", cid, "-o", str(bundle), env=env).returncode == 0
    verified = run_cli("verify", str(bundle), env=env)
    assert verified.returncode == 0, verified.stdout
    assert any(ln.startswith("PASS    transcript: 1 version(s): v1 machine draft")
               for ln in verified.stdout.splitlines()), verified.stdout

    # Another account's token sees nothing of it.
    refused = run_cli("client", "transcript", cid, "--show",
                      env={**env, "FIELDPROOF_TOKEN": "fp_wrong"})
    assert refused.returncode != 0
