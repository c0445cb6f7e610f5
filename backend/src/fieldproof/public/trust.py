"""What a verifier pins: the log's key, the server's CA, the TSAs' chains.

Served by ``GET /api/v1/trust`` so that auditors, witnesses and the /verify
page learn every trust anchor from one place (and can print and compare
their fingerprints), the witnesses' cosigning keys included.
"""

from __future__ import annotations

from dataclasses import dataclass

from fieldproof.core.cosignature import CosignerKey
from fieldproof.evidence.identity import ServerIdentity
from fieldproof.log.log import TransparencyLog


@dataclass(frozen=True)
class TsaAnchor:
    name: str
    url: str | None  # an external TSA's URL (credentials removed); None for the embedded one
    embedded: bool
    chain_pem: tuple[str, ...]  # signer or intermediates first, root last


@dataclass(frozen=True)
class WitnessAnchor:
    name: str
    vkey: str  # C2SP tlog-cosignature vkey (type 0x04)
    key_sha256: str
    url: str  # its add-checkpoint prefix, as configured


@dataclass(frozen=True)
class Trust:
    origin: str
    vkey: str
    key_sha256: str  # SHA-256 of the raw Ed25519 public key, hex
    server_ca_pem: str  # keys/server-ca/root.pem: signs certificate PDFs, lists, C2PA
    tsas: tuple[TsaAnchor, ...]
    witnesses: tuple[WitnessAnchor, ...] = ()


def trust(tlog: TransparencyLog, identity: ServerIdentity) -> Trust:
    verifier = tlog.signer.verifier
    tsas = []
    for tsa in tlog.tsas:
        chain = getattr(tsa, "chain_pem", None)
        tsas.append(TsaAnchor(name=tsa.name, url=getattr(tsa, "public_url", None),
                              embedded=tsa.embedded,
                              chain_pem=tuple(p.decode() for p in chain()) if chain else ()))
    # The PDF identity's root is the CA of every purpose (created on first use).
    root = identity.get("pdf").root_pem.decode()
    witnesses = []
    for spec in tlog.witnesses:
        key = CosignerKey.parse(spec.vkey)
        witnesses.append(WitnessAnchor(name=key.name, vkey=key.vkey(),
                                       key_sha256=key.fingerprint, url=spec.public_url))
    return Trust(origin=tlog.origin, vkey=verifier.vkey(), key_sha256=verifier.fingerprint,
                 server_ca_pem=root, tsas=tuple(tsas), witnesses=tuple(witnesses))
