"""GET /api/v1/trust: the trust anchors, public and rate-limited."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path
from typing import Any

from cryptography import x509

from fieldproof.config import Settings
from fieldproof.core.checkpoint import Checkpoint, Verifier
from fieldproof.services import Services
from fieldproof.web import create_app
from tests.support.photos import jpeg
from tests.support.problems import assert_problem
from tests.support.tsa_server import openssl_tsa


def test_trust_names_every_anchor(client: Any, services: Services, user: Any) -> None:
    r = client.get("/api/v1/trust")  # no account
    assert r.status_code == 200 and r.headers["Access-Control-Allow-Origin"] == "*"
    t = r.json
    assert set(t) == {"log", "tiles_url", "server_ca", "tsas", "witnesses"}
    verifier = Verifier.parse(t["log"]["vkey"])
    assert t["log"]["origin"] == verifier.name == "fieldproof.local/log"
    assert t["log"]["key_sha256"] == hashlib.sha256(verifier.public_key).hexdigest()
    assert t["tiles_url"] == "http://localhost/tiles"
    assert t["witnesses"] == []

    root = (services.settings.data_dir / "keys" / "server-ca" / "root.pem").read_text()
    assert t["server_ca"] == root
    ca = x509.load_pem_x509_certificate(root.encode())
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca

    [tsa] = t["tsas"]
    assert tsa["embedded"] is True and tsa["url"] is None
    chain = [x509.load_pem_x509_certificate(p.encode()) for p in tsa["chain"]]
    assert chain[-1].subject == chain[-1].issuer == chain[0].issuer  # signer, then root

    # the key it names signs the log's checkpoints
    device = user.enroll()
    assert user.upload(device, jpeg(make="trust")).status_code == 201
    services.sequencer.integrate()
    note = client.get("/tiles/checkpoint").data
    assert Checkpoint.parse(verifier.open(note)).size >= 1


def test_trust_with_an_external_tsa_and_a_public_url(tmp_path: Path) -> None:
    with openssl_tsa() as tsa:
        chain = tmp_path / "chain.pem"
        chain.write_bytes(b"".join(tsa.chain))
        settings = Settings(data_dir=tmp_path / "var", testing=True,
                            database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}",
                            public_url="https://evidence.example.org",
                            tsa_urls=(f"http://user:secret@127.0.0.1:9/tsr?x=1|{chain}",))
        svc = Services.build(settings)
        try:
            t = create_app(services=svc).test_client().get("/api/v1/trust").json
        finally:
            svc.close()
    assert t["tiles_url"] == "https://evidence.example.org/tiles"
    embedded, external = sorted(t["tsas"], key=lambda a: not a["embedded"])
    assert embedded["embedded"] is True and embedded["url"] is None
    assert external == {"name": "127.0.0.1:9/tsr", "url": "http://127.0.0.1:9/tsr",
                        "embedded": False, "chain": [p.decode() for p in tsa.chain]}
    assert "secret" not in str(t)


def test_trust_is_rate_limited(services: Services) -> None:
    svc = replace(services, settings=replace(services.settings, public_burst=2,
                                             public_per_second=0.001))
    client = create_app(services=svc).test_client()
    assert [client.get("/api/v1/trust").status_code for _ in range(2)] == [200, 200]
    r = client.get("/api/v1/trust")
    assert_problem(r, 429, "rate_limited")
    assert int(r.headers["Retry-After"]) >= 1
