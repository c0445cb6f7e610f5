"""The transcript check of the offline verifier (shared/PROTOCOL.md, Transcripts).

Every version in ``transcript/``: canonical and well formed, bound to this
bundle's manifest and media, numbered from 1 with each ``prev`` the hash of the
one before, each ``based_on`` an earlier machine version, signed (a machine
version by a key the server CA certified as the transcriber, a human version
by the JWK beside it), its log leaf rebuilt from the document and proven into
the custody checkpoint; and ``transcript.pdf`` signed under the server CA,
naming the newest version.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from fieldproof.bundle.common import CheckFailed, check_issued_by, jcs_object, strict_b64
from fieldproof.bundle.layout import (
    MANIFEST,
    TRANSCRIBER_CERT,
    TRANSCRIPT_DIR,
    TRANSCRIPT_FILE,
    TRANSCRIPT_LOG,
    TRANSCRIPT_PDF,
)
from fieldproof.core import merkle
from fieldproof.core.encoding import split_pem_certificates
from fieldproof.core.keys import DeviceKey
from fieldproof.core.manifest import parse_time
from fieldproof.core.transcript import parse_transcript, transcript_entry
from fieldproof.errors import FieldProofError

if TYPE_CHECKING:
    from fieldproof.bundle.verify import _Verify

# The common name of the server CA's certificate for the machine transcriber's key
# (transcripts/, services.py): what sets it apart from the CA's other leaves.
TRANSCRIBER_NAME = "FieldProof machine transcriber"


def has_transcript(names: list[str] | set[str]) -> bool:
    return any(n.startswith(TRANSCRIPT_DIR) or n in (TRANSCRIPT_PDF, TRANSCRIBER_CERT)
               for n in names)


def check_transcript(v: _Verify) -> str:
    numbers = sorted({int(m.group(1)) for n in v.names
                      if (m := TRANSCRIPT_FILE.fullmatch(n)) and m.group(2) == "json"})
    stray = sorted(n for n in v.names if (m := TRANSCRIPT_FILE.fullmatch(n))
                   and int(m.group(1)) not in numbers)
    if stray:
        raise CheckFailed(f"{', '.join(stray)}: no version document of that number")
    if not numbers:
        raise CheckFailed(f"transcript files without any {TRANSCRIPT_DIR}v<N>.json")
    if numbers != list(range(1, len(numbers) + 1)):
        raise CheckFailed(f"transcript versions {numbers}: not numbered 1 to {len(numbers)}, "
                          "a version is missing")
    manifest_sha = hashlib.sha256(v.files.get(MANIFEST, b"")).hexdigest()
    prev: str | None = None
    machine: set[str] = set()
    capture_ids: set[str] = set()
    said, entries = [], {}
    for n in numbers:
        name = f"{TRANSCRIPT_DIR}v{n}.json"
        raw = v.need(name)
        try:
            t = parse_transcript(raw)
        except FieldProofError as exc:
            raise CheckFailed(f"{name}: {exc.detail}") from exc
        d = t.data
        if d["version"] != n:
            raise CheckFailed(f"{name} says it is version {d['version']}")
        if d["manifest_sha256"] != manifest_sha:
            raise CheckFailed(f"{name} is about manifest {d['manifest_sha256']}, not this "
                              f"bundle's {manifest_sha}")
        if d["media_sha256"] != v.media.sha256:
            raise CheckFailed(f"{name} is about media {d['media_sha256']}, not this bundle's "
                              f"{v.media.sha256}")
        if d["prev"] != prev:
            raise CheckFailed(f"{name} names {d['prev']} as the version before it, but "
                              + ("it is the first" if prev is None else
                                 f"version {n - 1} hashes to {prev}"))
        if d["based_on"] is not None and d["based_on"] not in machine:
            raise CheckFailed(f"{name} says it started from {d['based_on']}, which is no "
                              "earlier machine version in this bundle")
        capture_ids.add(d["capture_id"])
        sig = v.need(f"{TRANSCRIPT_DIR}v{n}.sig")
        who = _check_signature(v, t.origin, n, t.key_id, sig, t.canonical,
                               str(d["created_at"]))
        entries[n] = transcript_entry(transcript_sha256=t.sha256, signature=sig)
        if t.origin == "machine":
            machine.add(t.sha256)
            engine = d["engine"] or {}
            said.append(f"v{n} machine draft ({engine.get('name')} {engine.get('model')}, "
                        f"{len(d['segments'])} segments) {who}")
        else:
            based = next((f", from v{i}" for i in numbers
                          if i < n and _sha(v, i) == d["based_on"]), "")
            said.append(f"v{n} checked by a person ({len(d['segments'])} segments, "
                        f"{len(d['key_points'])} key points{based}) {who}")
        prev = t.sha256
    if len(capture_ids) != 1:
        raise CheckFailed(f"the versions name different captures: {sorted(capture_ids)}")
    proven = _check_log(v, entries)
    pdf = _check_pdf(v, capture_ids.pop(), prev or "")
    return (f"{len(numbers)} version(s): " + "; ".join(said)
            + f"; chained and bound to the media; {proven} of {len(numbers)} proven in the "
            "log" + (f"; {pdf}" if pdf else ""))


def _sha(v: _Verify, n: int) -> str:
    return hashlib.sha256(v.files.get(f"{TRANSCRIPT_DIR}v{n}.json", b"")).hexdigest()


def _check_signature(v: _Verify, origin: str, n: int, key_id: str, sig: bytes,
                     message: bytes, created_at: str) -> str:
    where = f"{TRANSCRIPT_DIR}v{n}.sig"
    if origin == "human":
        jwk_name = f"{TRANSCRIPT_DIR}v{n}.jwk"
        try:
            key = DeviceKey.from_jwk(jcs_object(v.need(jwk_name), jwk_name))
            if key.key_id != key_id:
                raise CheckFailed(f"{jwk_name} is key {key.key_id}, the version names {key_id}")
            key.verify(sig, message)
        except FieldProofError as exc:
            raise CheckFailed(f"{where}: {exc.detail}") from exc
        same = " (the capture's own device)" if v.device and v.device.key_id == key_id else ""
        return f"signed by device {key_id[:12]}…{same}"
    pem = v.files.get(TRANSCRIBER_CERT)
    ca_pem = v.pinned_ca or v.files.get("keys/server-ca.pem")
    if not pem or not ca_pem:
        raise CheckFailed(f"v{n} is a machine version, but {TRANSCRIBER_CERT} or the server "
                          "CA is missing")
    try:
        certs = [x509.load_pem_x509_certificate(c) for c in split_pem_certificates(pem)]
        ca = x509.load_pem_x509_certificate(ca_pem)
    except ValueError as exc:
        raise CheckFailed(f"{TRANSCRIBER_CERT} or the server CA is not a certificate") from exc
    # the certificate (of those the file holds, one per transcriber key used) for this key
    cert = next((c for c in certs if _key_id(c) == key_id), None)
    if cert is None:
        raise CheckFailed(f"{TRANSCRIBER_CERT} certifies no key {key_id}, which v{n} names")
    check_issued_by(cert, ca, TRANSCRIBER_CERT)
    names = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    if names != [TRANSCRIBER_NAME]:
        raise CheckFailed(f"{TRANSCRIBER_CERT} certifies {names}, not the server's "
                          f"transcriber ({TRANSCRIBER_NAME!r})")
    if not cert.not_valid_before_utc <= parse_time(created_at) <= cert.not_valid_after_utc:
        raise CheckFailed(f"{TRANSCRIBER_CERT} was not valid when v{n} was made ({created_at})")
    try:
        _device(cert).verify(sig, message)
    except FieldProofError as exc:
        raise CheckFailed(f"{where}: {exc.detail}") from exc
    fingerprint = cert.fingerprint(hashes.SHA256()).hex()
    return f"signed by the server's transcriber (certificate sha256:{fingerprint[:16]}…)"


def _device(cert: x509.Certificate) -> DeviceKey:
    point = cert.public_key().public_bytes(serialization.Encoding.X962,
                                           serialization.PublicFormat.UncompressedPoint)
    return DeviceKey.from_point(point)


def _key_id(cert: x509.Certificate) -> str | None:
    try:
        return _device(cert).key_id
    except (FieldProofError, ValueError, TypeError):  # not a P-256 key
        return None


def _check_log(v: _Verify, entries: dict[int, bytes]) -> int:
    raw = v.need(TRANSCRIPT_LOG)
    lines = raw.decode("utf-8", "replace").split("\n")
    if lines[-1] != "":
        raise CheckFailed(f"{TRANSCRIPT_LOG} does not end with a newline")
    items: dict[int, dict[str, Any]] = {}
    for i, line in enumerate(lines[:-1], 1):
        item = jcs_object(line.encode("utf-8"), f"{TRANSCRIPT_LOG} line {i}")
        if not {"version", "entry", "leaf_index"} <= set(item) <= {
                "version", "entry", "leaf_index", "inclusion_proof"} or \
                not isinstance(item["version"], int) or isinstance(item["version"], bool) \
                or not isinstance(item["entry"], str):
            raise CheckFailed(f"{TRANSCRIPT_LOG} line {i}: needs version (a number), entry "
                              "(the leaf's text) and leaf_index")
        if item["version"] in items:
            raise CheckFailed(f"{TRANSCRIPT_LOG} line {i}: version {item['version']} again")
        items[item["version"]] = item
    if sorted(items) != sorted(entries):
        raise CheckFailed(f"{TRANSCRIPT_LOG} lists versions {sorted(items)}, the bundle has "
                          f"{sorted(entries)}")
    cp = v.custody_checkpoint()
    proven = 0
    for n, entry in entries.items():
        item = items[n]
        if item["entry"] != entry.decode("utf-8"):
            raise CheckFailed(f"{TRANSCRIPT_LOG}: the leaf of v{n} is not its document's "
                              "hash and signature")
        index, proof = item["leaf_index"], item.get("inclusion_proof")
        if proof is None:
            if cp is not None and isinstance(index, int) and index < cp.size:
                raise CheckFailed(f"{TRANSCRIPT_LOG}: v{n} is leaf {index}, inside the "
                                  "custody checkpoint's tree, but has no inclusion proof")
            continue
        if cp is None or not isinstance(index, int) or not isinstance(proof, list):
            raise CheckFailed(f"{TRANSCRIPT_LOG}: v{n}'s proof needs a leaf index and the "
                              "custody checkpoint")
        try:
            merkle.verify_inclusion(index, cp.size, merkle.leaf_hash(entry),
                                    [strict_b64(p) for p in proof], cp.root)
        except FieldProofError as exc:
            raise CheckFailed(f"{TRANSCRIPT_LOG}: v{n} is not leaf {index} of tree {cp.size}: "
                              f"{exc.detail}") from exc
        proven += 1
    return proven


def _check_pdf(v: _Verify, capture_id: str, newest: str) -> str:
    if TRANSCRIPT_PDF not in v.names:
        return ""
    ca, source = v.server_ca()
    return v.checkers.transcript_pdf(  # type: ignore[attr-defined, no-any-return]
        v.need(TRANSCRIPT_PDF), server_ca=ca, ca_source=source, tsa_roots=v.tsa_roots(),
        capture_id=capture_id, transcript_sha256=newest, media_sha256=v.media.sha256)
