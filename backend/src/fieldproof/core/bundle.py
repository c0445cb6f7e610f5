"""Evidence bundles: the file layout, and the offline verifier.

A bundle is a zip a capture's owner downloads (``GET /captures/{id}/bundle``)
that proves the capture with no server at all: the signed manifest and the
device key, the original media, for a stream every signed chunk header, the
log entry with its inclusion proof, the signed checkpoint, its RFC 3161 tokens
and the keys to check them. :func:`verify_bundle` re-derives every claim.

Pure: the caller hands in an object with ``names()`` and ``open(name)`` (a
``zipfile.ZipFile`` wrapped in :class:`ZipBundle`, or a mapping of bytes);
nothing here touches the file system or the network. The media is hashed in
1 MiB blocks, never held whole.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import re
import zipfile
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any, Protocol

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding

from ..errors import FieldProofError
from . import merkle
from .aio import run_sync
from .canonical import canonicalize, parse_json
from .checkpoint import Checkpoint, Verifier, b64_strict
from .keys import DeviceKey, b64url_encode
from .logentry import CUSTODY_EVENTS, CUSTODY_RECORD, custody_entry
from .manifest import parse_time
from .report import Anchor, Report
from .stream import next_chain
from .timestamp import EMBEDDED_POLICY_OID, verify_token

BLOCK = 1 << 20
MAX_SMALL_FILE = 64 << 20  # everything but the media is read whole; refuse absurd sizes
MAX_SMALL_TOTAL = 256 << 20  # ... and all of them together (a zip bomb of many members)
MAX_FILES = 10_000

MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
DEVICE_KEY = "device.jwk"
CHUNKS = "chunks.json"
LOG_ENTRY = "log-entry.json"
RECEIPT = "receipt.json"
CHECKPOINT = "checkpoint.txt"
LOG_VKEY = "keys/log.vkey"
CUSTODY = "custody.jsonl"
CERTIFICATE = "certificate.pdf"
SERVER_CA = "keys/server-ca.pem"
DERIVED_DIR = "derived/"
_C2PA_MIME = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp",
              "mp4": "video/mp4", "m4a": "audio/mp4", "mov": "video/quicktime",
              "wav": "audio/wav", "mp3": "audio/mpeg"}
CUSTODY_CHECKPOINT = "custody-checkpoint.txt"
CUSTODY_CONSISTENCY = "custody-consistency.json"
SUMS = "SHA256SUMS"
README = "VERIFY.md"
MEDIA_DIR = "media/"
TIMESTAMP_DIR = "timestamps/"
TSA_KEY_DIR = "keys/tsa/"
REQUIRED = (MANIFEST, SIGNATURE, DEVICE_KEY, LOG_ENTRY, RECEIPT, CHECKPOINT, SUMS)
RECEIPT_MEMBERS = {"leaf_index", "tree_size", "leaf_hash", "inclusion_proof", "origin"}

_SUM_LINE = re.compile(r"([0-9a-f]{64}) [ *]([^\r\n]+)")
_PEM = re.compile(rb"-----BEGIN CERTIFICATE-----\r?\n.*?-----END CERTIFICATE-----\r?\n?",
                  re.DOTALL)


class BundleUnusable(FieldProofError):
    """Not a bundle at all (not a zip, required files missing): nothing to verify."""

    code = "bundle_unusable"
    status = 2
    title = "Not a usable evidence bundle"


# --------------------------------------------------------------------------- layout helpers
def safe_name(text: str, default: str = "file", limit: int = 100) -> str:
    """A file name that is the same on every system: [A-Za-z0-9._-], no leading dot."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._-")[:limit].strip("._-")
    return name or default


def sums_text(digests: Mapping[str, str]) -> bytes:
    """``sha256sum -c`` input: ``<hex>  <name>`` per file, sorted by name."""
    return "".join(f"{digests[n]}  {n}\n" for n in sorted(digests)).encode()


def split_pem_chain(data: bytes) -> list[bytes]:
    return [m.group(0) for m in _PEM.finditer(data)]


# --------------------------------------------------------------------------- readers
class BundleReader(Protocol):
    def names(self) -> list[str]: ...

    def open(self, name: str) -> IO[bytes]: ...


class MemoryBundle:
    """A bundle given as ``{name: bytes}`` (tests, small tools)."""

    def __init__(self, files: Mapping[str, bytes]) -> None:
        self.files = files

    def names(self) -> list[str]:
        return list(self.files)

    def open(self, name: str) -> IO[bytes]:
        return io.BytesIO(self.files[name])


class ZipBundle:
    """A bundle in an already opened ``zipfile.ZipFile`` (the caller opened the file)."""

    def __init__(self, zf: zipfile.ZipFile) -> None:
        self.zf = zf

    def names(self) -> list[str]:
        return [i.filename for i in self.zf.infolist() if not i.is_dir()]

    def open(self, name: str) -> IO[bytes]:
        return self.zf.open(name)


# --------------------------------------------------------------------------- verification
class _Bad(Exception):
    """One check's failure, with its reason."""


def _b64url_strict(text: Any) -> bytes:
    if not isinstance(text, str):
        raise _Bad("not a base64url string")
    s = text + "=" * (-len(text) % 4)
    try:
        raw = base64.urlsafe_b64decode(s.encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError) as exc:
        raise _Bad(f"bad base64url: {exc}") from exc
    if b64url_encode(raw) != text:
        raise _Bad("non-canonical base64url")
    return raw


def _b64_strict(text: Any) -> bytes:
    if not isinstance(text, str):
        raise _Bad("not a base64 string")
    try:
        return b64_strict(text)
    except (binascii.Error, ValueError) as exc:
        raise _Bad(f"bad base64: {exc}") from exc


def _jcs(raw: bytes, what: str) -> dict[str, Any]:
    """Parse JSON that must be an object in its canonical (JCS) form, byte for byte."""
    try:
        value = parse_json(raw)
    except FieldProofError as exc:
        raise _Bad(f"{what} is not valid JSON: {exc.detail}") from exc
    if not isinstance(value, dict):
        raise _Bad(f"{what} is not a JSON object")
    if canonicalize(value) != raw:
        raise _Bad(f"{what} is not in canonical (JCS) form")
    return value


def _json(raw: bytes, what: str) -> Any:
    try:
        return parse_json(raw)
    except FieldProofError as exc:
        raise _Bad(f"{what} is not valid JSON: {exc.detail}") from exc


def _hex(text: Any, what: str) -> str:
    if not isinstance(text, str) or not re.fullmatch(r"[0-9a-f]{64}", text):
        raise _Bad(f"{what} is not a lower-case hex SHA-256")
    return text


def _cert_fingerprint(pem: bytes) -> tuple[str, str]:
    cert = x509.load_pem_x509_certificate(pem)
    return cert.subject.rfc4514_string(), "sha256:" + cert.fingerprint(hashes.SHA256()).hex()


def _asn1_cert(pem: bytes) -> Any:
    from asn1crypto import pem as asn1_pem
    from asn1crypto import x509 as asn1_x509

    return asn1_x509.Certificate.load(asn1_pem.unarmor(pem)[2])


@dataclass
class _MediaDigest:
    sha256: str = ""
    size: int = 0
    slices: list[str] = field(default_factory=list)  # per-chunk SHA-256, if asked
    error: str | None = None


def _hash_stream(fh: IO[bytes], boundaries: list[int]) -> _MediaDigest:
    """SHA-256 of the whole stream and of consecutive slices of the given sizes."""
    whole = hashlib.sha256()
    out = _MediaDigest()
    sizes = iter(boundaries)
    want = next(sizes, None)
    part = hashlib.sha256()
    taken = 0
    while True:
        block = fh.read(BLOCK)
        if not block:
            break
        whole.update(block)
        out.size += len(block)
        view = memoryview(block)
        while view and want is not None:
            n = min(len(view), want - taken)
            part.update(view[:n])
            taken += n
            view = view[n:]
            if taken == want:
                out.slices.append(part.hexdigest())
                part, taken, want = hashlib.sha256(), 0, next(sizes, None)
    while want is not None and want == taken:  # trailing empty slices
        out.slices.append(part.hexdigest())
        part, taken, want = hashlib.sha256(), 0, next(sizes, None)
    out.sha256 = whole.hexdigest()
    return out


class _Verify:
    def __init__(self, reader: BundleReader, log_vkey: str | None,
                 tsa_roots: list[bytes] | None, server_ca: bytes | None = None) -> None:
        self.pinned_ca = server_ca
        self.reader = reader
        self.pinned_vkey = log_vkey
        self.pinned_roots = tsa_roots or None
        self.report = Report()
        self.files: dict[str, bytes] = {}
        self.digests: dict[str, str] = {}
        self.media_name = ""
        self.media = _MediaDigest()
        self.manifest: dict[str, Any] = {}
        self.manifest_ok = False
        self.device: DeviceKey | None = None
        self.entry: dict[str, Any] = {}
        self.chunks: list[dict[str, Any]] = []
        self.checkpoint: Checkpoint | None = None
        self.log_verifier: Verifier | None = None
        self.tsa_chains: dict[str, list[bytes]] = {}

    # -- plumbing ---------------------------------------------------------
    def run(self, name: str, fn: Any) -> None:
        try:
            detail = fn()
        except _Bad as exc:
            self.report.fail(name, str(exc))
        except FieldProofError as exc:
            self.report.fail(name, exc.detail)
        else:
            self.report.check(name, True, detail)

    def load(self) -> None:
        names = self.reader.names()
        if len(names) > MAX_FILES:
            raise BundleUnusable(f"the bundle holds {len(names)} files; a bundle has at "
                                 f"most {MAX_FILES}")
        dupes = sorted(n for n, k in Counter(names).items() if k > 1)
        if dupes:
            raise BundleUnusable(f"the bundle holds several files named {', '.join(dupes)}")
        self.names = sorted(names)
        missing = [n for n in REQUIRED if n not in names]
        media = [n for n in names if n.startswith(MEDIA_DIR)]
        if missing:
            raise BundleUnusable(f"not an evidence bundle: {', '.join(missing)} missing")
        if len(media) != 1:
            raise BundleUnusable(f"a bundle holds exactly one media/ file, this one {len(media)}")
        self.media_name = media[0]
        total = 0
        for name in self.names:
            if name == self.media_name:
                continue
            try:
                with self.reader.open(name) as fh:
                    data = fh.read(MAX_SMALL_FILE + 1)
            except Exception as exc:  # a damaged zip member: CRC, decompression...
                self.report.fail("read", f"{name}: cannot be read ({exc})")
                continue
            if len(data) > MAX_SMALL_FILE:
                self.report.fail("read", f"{name}: larger than {MAX_SMALL_FILE} bytes")
                continue
            total += len(data)
            if total > MAX_SMALL_TOTAL:
                raise BundleUnusable(f"the bundle's files besides the media inflate to more "
                                     f"than {MAX_SMALL_TOTAL} bytes")
            self.files[name] = data
            self.digests[name] = hashlib.sha256(data).hexdigest()

    def hash_media(self) -> None:
        sizes = [c["size"] for c in self.chunks] if self.chunks else []
        try:
            with self.reader.open(self.media_name) as fh:
                self.media = _hash_stream(fh, sizes)
        except Exception as exc:
            self.media = _MediaDigest(error=f"{self.media_name}: cannot be read ({exc})")
            self.report.fail("read", self.media.error or "")
            return
        self.digests[self.media_name] = self.media.sha256

    def need(self, name: str) -> bytes:
        if name not in self.files:
            raise _Bad(f"{name} is missing or unreadable")
        return self.files[name]

    # -- checks -----------------------------------------------------------
    def sums(self) -> None:
        raw = self.files.get(SUMS)
        if raw is None:
            self.report.fail("SHA256SUMS", "SHA256SUMS is missing or unreadable")
            return
        problems: list[str] = []
        listed: dict[str, str] = {}
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            self.report.fail("SHA256SUMS", "SHA256SUMS is not UTF-8")
            return
        if not text.endswith("\n"):
            problems.append("SHA256SUMS: does not end with a newline")
        for i, line in enumerate(text.split("\n")[:-1], 1):
            m = _SUM_LINE.fullmatch(line)
            if m is None:
                problems.append(f"SHA256SUMS: line {i} is not '<sha256>  <file>'")
                continue
            if m.group(2) in listed:
                problems.append(f"SHA256SUMS: {m.group(2)} listed twice")
            listed[m.group(2)] = m.group(1)
        for name in self.names:
            if name == SUMS:
                continue
            if name not in listed:
                problems.append(f"{name}: not listed in SHA256SUMS")
            elif name in self.digests and self.digests[name] != listed[name]:
                problems.append(f"{name}: SHA-256 differs from SHA256SUMS")
        for name in listed:
            if name not in self.names or name == SUMS:
                problems.append(f"SHA256SUMS: lists {name}, which is not in the bundle")
        if problems:
            for p in problems:
                self.report.fail("SHA256SUMS", p)
        else:
            self.report.check("SHA256SUMS", True,
                              f"{len(listed)} files listed, every one matches")

    def check_manifest(self) -> str:
        self.manifest = _jcs(self.need(MANIFEST), MANIFEST)
        kind = self.manifest.get("type")
        if kind not in ("fieldproof.capture", "fieldproof.stream"):
            raise _Bad(f"{MANIFEST}: unknown type {kind!r}")
        self.manifest_ok = True
        what = ("stream header of an interrupted recording" if self.partial
                else f"v{self.manifest.get('v')} {self.manifest.get('kind')} manifest")
        return f"{what}, SHA-256 {hashlib.sha256(self.files[MANIFEST]).hexdigest()}"

    @property
    def partial(self) -> bool:
        return self.manifest.get("type") == "fieldproof.stream"

    @property
    def key_id(self) -> str:
        device = self.manifest.get("device")
        return str(device.get("key_id")) if isinstance(device, dict) else ""

    def check_device_key(self) -> str:
        jwk = _jcs(self.need(DEVICE_KEY), DEVICE_KEY)
        if set(jwk) != {"crv", "kty", "x", "y"}:
            raise _Bad(f"{DEVICE_KEY} must hold exactly crv, kty, x, y")
        key = DeviceKey.from_jwk(jwk)
        if key.jwk != jwk:
            raise _Bad(f"{DEVICE_KEY} is not in canonical form")
        if not self.manifest_ok:
            raise _Bad(f"cannot compare: {MANIFEST} is unusable")
        if key.key_id != self.key_id:
            raise _Bad(f"{DEVICE_KEY} has thumbprint {key.key_id}, the manifest names "
                       f"device {self.key_id}")
        self.device = key
        return f"P-256 key, RFC 7638 thumbprint {key.key_id} = the manifest's device.key_id"

    def check_signature(self) -> str:
        sig = self.need(SIGNATURE)
        if self.device is None:
            raise _Bad("no usable device key to check it with")
        if len(sig) != 64:
            raise _Bad(f"{SIGNATURE} must be 64 raw bytes r||s, it has {len(sig)}")
        self.device.verify_fast(sig, self.need(MANIFEST))
        return f"ECDSA P-256 signature by device {self.device.key_id} over {MANIFEST}"

    def check_media(self) -> str:
        if self.media.error:
            raise _Bad(self.media.error)
        if not self.manifest_ok:
            raise _Bad(f"cannot compare: {MANIFEST} is unusable")
        if self.partial:
            # The signed header names no file; the chunks and the log entry do.
            want = self.entry.get("media_sha256") if self.entry else None
            if self.media.sha256 != want:
                raise _Bad(f"{self.media_name} hashes to {self.media.sha256}, the log entry "
                           f"says {want}")
            return (f"{self.media_name}: {self.media.size} bytes, SHA-256 {self.media.sha256} "
                    "(as the log entry and the signed chunks say)")
        media = self.manifest.get("media") or {}
        if self.media.sha256 != media.get("sha256"):
            raise _Bad(f"{self.media_name} hashes to {self.media.sha256}, the manifest says "
                       f"{media.get('sha256')}")
        if self.media.size != media.get("size"):
            raise _Bad(f"{self.media_name} has {self.media.size} bytes, the manifest says "
                       f"{media.get('size')}")
        return f"{self.media_name}: {self.media.size} bytes, SHA-256 {self.media.sha256}"

    def parse_chunks(self) -> None:
        """Read chunks.json before the media pass (the slices it needs); errors later."""
        raw = self.files.get(CHUNKS)
        if raw is None:
            return
        try:
            body = _json(raw, CHUNKS)
            chunks = body["chunks"]
            if all(isinstance(c, dict) and isinstance(c.get("size"), int)
                   and not isinstance(c.get("size"), bool) and c["size"] >= 0 for c in chunks):
                self.chunks = chunks
        except (_Bad, KeyError, TypeError):
            self.chunks = []

    def check_chunks(self) -> str:
        raw = self.need(CHUNKS)
        if self.device is None:
            raise _Bad("no usable device key to check the chunk signatures with")
        body = _json(raw, CHUNKS)
        if not isinstance(body, dict) or set(body) != {"stream_header", "header_signature",
                                                       "chunks"}:
            raise _Bad(f"{CHUNKS} must hold exactly stream_header, header_signature, chunks")
        if canonicalize(body) != raw:
            raise _Bad(f"{CHUNKS} is not in canonical (JCS) form")
        if not isinstance(body["stream_header"], str):
            raise _Bad("stream_header must be the signed header's JSON text")
        header_raw = body["stream_header"].encode("utf-8")
        header = _jcs(header_raw, "stream_header")
        stream_id = hashlib.sha256(header_raw).hexdigest()
        header_sig = _b64url_strict(body["header_signature"])
        if (header.get("device") or {}).get("key_id") != self.key_id:
            raise _Bad("the stream header names another device than the manifest")
        self.device.verify_fast(header_sig, header_raw)
        if self.partial:
            if header_raw != self.files.get(MANIFEST):
                raise _Bad("stream_header differs from manifest.json (the signed header)")
            if header_sig != self.files.get(SIGNATURE):
                raise _Bad("header_signature differs from manifest.sig")
            head_claim = (self.entry.get("stream") or {}).get("chain_head")
            count_claim = (self.entry.get("stream") or {}).get("chunks")
            where = "the log entry's"
        else:
            stream = self.manifest.get("stream") or {}
            if stream.get("id") != stream_id:
                raise _Bad(f"the manifest names stream {stream.get('id')}, the header hashes "
                           f"to {stream_id}")
            head_claim, count_claim = stream.get("chain_head"), stream.get("chunks")
            where = "the signed manifest's"
        chunks = body["chunks"]
        if not isinstance(chunks, list) or not chunks:
            raise _Bad("no chunks")
        if self.media.error:
            raise _Bad(self.media.error)
        if len(self.media.slices) != len(chunks) or \
                sum(int(c.get("size", 0)) for c in chunks) != self.media.size:
            raise _Bad(f"the chunk sizes do not add up to {self.media_name} "
                       f"({self.media.size} bytes)")
        chain = bytes.fromhex(stream_id)
        for seq, c in enumerate(chunks):
            if not isinstance(c, dict) or set(c) != {"seq", "size", "sha256", "chain",
                                                     "header", "signature"}:
                raise _Bad(f"chunk {seq}: needs exactly seq, size, sha256, chain, header, "
                           "signature")
            if not isinstance(c["header"], str):
                raise _Bad(f"chunk {seq}: header must be JSON text")
            head_raw = c["header"].encode("utf-8")
            head = _jcs(head_raw, f"chunk {seq} header")
            if head.get("type") != "fieldproof.chunk" or head.get("stream") != stream_id:
                raise _Bad(f"chunk {seq}: its header is not a chunk of stream {stream_id}")
            for k in ("seq", "size", "sha256", "chain"):
                if head.get(k) != c[k]:
                    raise _Bad(f"chunk {seq}: {k} differs from its signed header")
            if c["seq"] != seq:
                raise _Bad(f"chunk {seq}: out of sequence (seq {c['seq']})")
            try:
                self.device.verify_fast(_b64url_strict(c["signature"]), head_raw)
            except (_Bad, FieldProofError) as exc:
                raise _Bad(f"chunk {seq}: device signature does not verify ({exc})") from exc
            digest = _hex(c["sha256"], f"chunk {seq} sha256")
            if self.media.slices[seq] != digest:
                raise _Bad(f"chunk {seq}: bytes of {self.media_name} at this offset hash to "
                           f"{self.media.slices[seq]}, the signed header says {digest}")
            chain = next_chain(chain, seq, bytes.fromhex(digest))
            if chain.hex() != c["chain"]:
                raise _Bad(f"chunk {seq}: the chain does not recompute from the stream id")
        if count_claim != len(chunks) or head_claim != chain.hex():
            raise _Bad(f"{len(chunks)} chunks chain to {chain.hex()}; {where} stream says "
                       f"{count_claim} chunks, head {head_claim}")
        if self.partial:
            last = (self.entry.get("stream") or {}).get("last_chunk_signature")
            if last is None or _b64_strict(last) != _b64url_strict(chunks[-1]["signature"]):
                raise _Bad("the log entry's last_chunk_signature is not the last chunk's")
        return (f"stream {stream_id}: header and {len(chunks)} chunks signed by the device, "
                f"chain recomputed to {where} head {chain.hex()}, each chunk's bytes match")

    def check_log_entry(self) -> str:
        self.entry = _jcs(self.need(LOG_ENTRY), LOG_ENTRY)
        e = self.entry
        problems = []
        if e.get("type") != "fieldproof.capture" or e.get("v") != 1:
            problems.append("not a fieldproof.capture v1 entry")
        if e.get("manifest_sha256") != hashlib.sha256(self.files.get(MANIFEST, b"")).hexdigest():
            problems.append("manifest_sha256 is not SHA-256(manifest.json)")
        if e.get("signature") != b64url_encode(self.files.get(SIGNATURE, b"")):
            problems.append("signature is not manifest.sig")
        if e.get("key_id") != self.key_id:
            problems.append("key_id is not the manifest's device")
        if not self.partial and e.get("media_sha256") != (self.manifest.get("media") or {}).get(
                "sha256"):
            problems.append("media_sha256 is not the manifest's")
        stream = e.get("stream")
        if self.partial and not (isinstance(stream, dict) and stream.get("partial") is True):
            problems.append("the manifest is a stream header but the entry is not partial")
        if not self.partial and "stream" in self.manifest:
            want = dict(self.manifest["stream"], partial=False)
            if stream != want:
                problems.append("stream differs from the manifest's")
        if (CHUNKS in self.files) != ("stream" in e):
            problems.append("chunks.json present for a non-stream entry, or missing")
        if problems:
            raise _Bad("; ".join(problems))
        return (f"binds manifest {e['manifest_sha256'][:16]}..., its signature, device "
                f"{e['key_id']} and media {e['media_sha256'][:16]}..., received "
                f"{e.get('received_at')}")

    def check_receipt(self) -> str:
        receipt = _json(self.need(RECEIPT), RECEIPT)
        if not isinstance(receipt, dict) or set(receipt) != RECEIPT_MEMBERS:
            raise _Bad(f"{RECEIPT} must hold exactly {', '.join(sorted(RECEIPT_MEMBERS))}")
        leaf = merkle.leaf_hash(self.need(LOG_ENTRY))
        if _b64_strict(receipt["leaf_hash"]) != leaf:
            raise _Bad("leaf_hash is not SHA-256(0x00 || log-entry.json)")
        if self.checkpoint is None:
            raise _Bad("no verified checkpoint to prove inclusion in")
        cp = self.checkpoint
        if receipt["origin"] != cp.origin or receipt["tree_size"] != cp.size:
            raise _Bad(f"receipt says {receipt['origin']} size {receipt['tree_size']}, the "
                       f"checkpoint {cp.origin} size {cp.size}")
        index = receipt["leaf_index"]
        proof = receipt["inclusion_proof"]
        if not isinstance(index, int) or isinstance(index, bool) or not isinstance(proof, list):
            raise _Bad("leaf_index must be an integer and inclusion_proof a list")
        merkle.verify_inclusion(index, cp.size, leaf, [_b64_strict(p) for p in proof], cp.root)
        return f"leaf {index} (SHA-256(0x00 || log-entry.json)) is in tree {cp.size}"

    def check_log_key(self) -> Verifier:
        raw = self.files.get(LOG_VKEY)
        bundled: Verifier | None = None
        if raw is not None:
            try:
                bundled = Verifier.parse(raw.decode("utf-8"))
            except (UnicodeDecodeError, FieldProofError) as exc:
                raise _Bad(f"{LOG_VKEY} is not a C2SP verifier key: {exc}") from exc
            if raw != (bundled.vkey() + "\n").encode():
                raise _Bad(f"{LOG_VKEY} is not exactly one verifier key line")
        if self.pinned_vkey:
            pinned = Verifier.parse(self.pinned_vkey)
            self.report.anchors.append(Anchor("log key", pinned.vkey(),
                                              "sha256:" + pinned.fingerprint, True))
            if bundled is not None and bundled != pinned:
                self.report.fail("log_key", f"{LOG_VKEY} is not the pinned key")
            else:
                self.report.check("log_key", True, "the pinned key is used")
            return pinned
        if bundled is None:
            raise _Bad(f"{LOG_VKEY} is missing and no key is pinned")
        self.report.anchors.append(Anchor("log key", bundled.vkey(),
                                          "sha256:" + bundled.fingerprint, False))
        self.report.check("log_key", True, f"{LOG_VKEY}: {bundled.name}")
        return bundled

    def check_checkpoint(self) -> str:
        try:
            verifier = self.check_log_key()
        except _Bad as exc:
            self.report.fail("log_key", str(exc))
            raise _Bad("no usable log key") from exc
        except FieldProofError as exc:
            self.report.fail("log_key", exc.detail)
            raise _Bad("no usable log key") from exc
        cp = Checkpoint.parse(verifier.open(self.need(CHECKPOINT)))
        self.log_verifier = verifier
        if cp.origin != verifier.name:
            raise _Bad(f"origin {cp.origin} is not the key's name {verifier.name}")
        self.checkpoint = cp
        return (f"{CHECKPOINT} signed by {verifier.name} (Ed25519): tree size {cp.size}, "
                f"root {base64.b64encode(cp.root).decode()}")

    def check_timestamps(self) -> None:
        tokens = sorted(n for n in self.names if n.startswith(TIMESTAMP_DIR))
        chains = {n[len(TSA_KEY_DIR):-len(".pem")]: n for n in self.names
                  if n.startswith(TSA_KEY_DIR) and n.endswith(".pem")}
        parsed: dict[str, list[bytes]] = {}
        for stem, name in sorted(chains.items()):
            try:
                raw = self.need(name)
                pems = split_pem_chain(raw)
                if not pems or b"".join(pems) != raw:
                    raise _Bad(f"{name} is not a plain chain of PEM certificates")
                certs = [x509.load_pem_x509_certificate(p) for p in pems]
                if b"".join(c.public_bytes(Encoding.PEM) for c in certs) != raw:
                    raise _Bad(f"{name}: certificates are not in canonical PEM form")
                parsed[stem] = pems
                self.tsa_chains[stem] = pems
                subject, fp = _cert_fingerprint(pems[-1])
                if not self.pinned_roots:
                    self.report.anchors.append(Anchor("TSA root", f"{subject} for {stem}", fp,
                                                      False))
                self.report.check("tsa_chain", True,
                                  f"{name}: {len(pems)} certificates, root {subject}")
            except _Bad as exc:
                self.report.fail("tsa_chain", str(exc))
            except ValueError as exc:
                self.report.fail("tsa_chain", f"{name}: {exc}")
        for pem in self.pinned_roots or []:
            try:
                subject, fp = _cert_fingerprint(pem)
            except ValueError as exc:
                self.report.fail("timestamp", f"a pinned TSA root is not a certificate: {exc}")
                return
            self.report.anchors.append(Anchor("TSA root", subject, fp, True))
        if not tokens:
            self.report.fail("timestamp", "no RFC 3161 token in timestamps/")
            return
        note = self.files.get(CHECKPOINT, b"")
        for name in tokens:
            stem = name[len(TIMESTAMP_DIR):].removesuffix(".tsr")
            chain = parsed.get(stem, [])
            roots = self.pinned_roots or chain[-1:]
            try:
                if not name.endswith(".tsr"):
                    raise _Bad("a token file ends in .tsr")
                if not roots:
                    raise _Bad(f"no trust anchor: {TSA_KEY_DIR}{stem}.pem is missing or "
                               "unusable and no --tsa-root is pinned")
                info = verify_token(self.need(name), note, roots_pem=roots,
                                    intermediates_pem=chain[:-1] if not self.pinned_roots
                                    else chain)
            except _Bad as exc:
                self.report.fail("timestamp", f"{name}: {exc}")
            except FieldProofError as exc:
                self.report.fail("timestamp", f"{name}: {exc.detail}")
            else:
                label = (" [embedded: the server's own TSA, not an independent witness]"
                         if info.policy == EMBEDDED_POLICY_OID else " [external TSA]")
                self.report.check("timestamp", True,
                                  f"{name}: {info.tsa_name} time-stamped {CHECKPOINT} at "
                                  f"{info.gen_time.isoformat()}{label}")

    def check_custody(self) -> str:
        """Each custody record: bound to this capture, and its leaf in the log.

        Events already in the log are proven by an inclusion proof into
        custody-checkpoint.txt (signed by the log key, and proven an extension
        of checkpoint.txt); events too recent for the log (the export itself)
        are listed without a proof and reported as such.
        """
        raw = self.need(CUSTODY)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _Bad(f"{CUSTODY} is not UTF-8") from exc
        if not text.endswith("\n"):
            raise _Bad(f"{CUSTODY} does not end with a newline")
        lines = text.split("\n")[:-1]
        if not lines:
            raise _Bad(f"{CUSTODY} is empty")
        cp = self.custody_checkpoint()
        if cp is None:
            raise _Bad(f"{CUSTODY_CHECKPOINT} is missing: nothing proves the events")
        manifest_sha = hashlib.sha256(self.files.get(MANIFEST, b"")).hexdigest()
        events: list[str] = []
        proven, last_index, pending_from = 0, -1, 0
        first_at: datetime | None = None
        last_at: datetime | None = None
        for i, line in enumerate(lines, 1):
            where = f"{CUSTODY} line {i}"
            item = _jcs(line.encode("utf-8"), where)
            if not {"record", "leaf_index"} <= set(item) <= {"record", "leaf_index",
                                                             "inclusion_proof"}:
                raise _Bad(f"{where}: needs record, leaf_index and maybe inclusion_proof")
            if not isinstance(item["record"], str):
                raise _Bad(f"{where}: record must be the record's JSON text")
            record_raw = item["record"].encode("utf-8")
            rec = _jcs(record_raw, f"{where} record")
            if rec.get("type") != CUSTODY_RECORD or rec.get("v") != 1:
                raise _Bad(f"{where}: not a {CUSTODY_RECORD} v1 record")
            if rec.get("manifest_sha256") != manifest_sha:
                raise _Bad(f"{where}: the record is about manifest "
                           f"{rec.get('manifest_sha256')}, not this bundle's {manifest_sha}")
            if rec.get("event") not in CUSTODY_EVENTS:
                raise _Bad(f"{where}: unknown event {rec.get('event')!r}")
            try:
                at = parse_time(rec["at"])
            except Exception as exc:  # missing, not a string, not a time
                raise _Bad(f"{where}: 'at' is not an RFC 3339 time") from exc
            # Lines are in log order; times of concurrent requests may interleave.
            first_at = min(first_at or at, at)
            last_at = max(last_at or at, at)
            index = item["leaf_index"]
            proof = item.get("inclusion_proof")
            events.append(rec["event"])
            if index is None:
                if proof is not None:
                    raise _Bad(f"{where}: a proof without a leaf index")
                pending_from = pending_from or i
                continue
            if not isinstance(index, int) or isinstance(index, bool) or index <= last_index:
                raise _Bad(f"{where}: leaf_index must be an increasing integer")
            last_index = index
            if proof is None:
                if index < cp.size:
                    raise _Bad(f"{where}: leaf {index} is in the custody checkpoint's tree "
                               "but has no inclusion proof")
                pending_from = pending_from or i
                continue
            if pending_from:
                # Unproven events are the newest ones, after every proven one.
                raise _Bad(f"{where}: a proven event after the unproven line {pending_from}")
            if not isinstance(proof, list):
                raise _Bad(f"{where}: inclusion_proof must be a list")
            leaf = merkle.leaf_hash(custody_entry(record_raw))
            try:
                merkle.verify_inclusion(index, cp.size, leaf,
                                        [_b64_strict(p) for p in proof], cp.root)
            except FieldProofError as exc:
                raise _Bad(f"{where}: the {rec['event']} event is not leaf {index} of tree "
                           f"{cp.size}: {exc.detail}") from exc
            proven += 1
        pending = len(events) - proven
        span = f" from {first_at.isoformat()} to {last_at.isoformat()}" \
            if first_at and last_at else ""
        return (f"{len(events)} events ({', '.join(events)}){span}: {proven} proven in the log "
                f"(tree {cp.size})"
                + (f", the last {pending} not in it yet (the server's statement only)"
                   if pending else "")
                + "; the log proves each event listed, not that none was left out")

    def custody_checkpoint(self) -> Checkpoint | None:
        """custody-checkpoint.txt, signed by the log key and consistent with checkpoint.txt."""
        if CUSTODY_CHECKPOINT not in self.names:
            return None
        if self.checkpoint is None or self.log_verifier is None:
            raise _Bad("no verified checkpoint to extend")
        try:
            cp = Checkpoint.parse(self.log_verifier.open(self.need(CUSTODY_CHECKPOINT)))
        except FieldProofError as exc:
            raise _Bad(f"{CUSTODY_CHECKPOINT}: {exc.detail}") from exc
        if cp.origin != self.checkpoint.origin:
            raise _Bad(f"{CUSTODY_CHECKPOINT} is from log {cp.origin}")
        body = _jcs(self.need(CUSTODY_CONSISTENCY), CUSTODY_CONSISTENCY)
        if set(body) != {"first", "second", "consistency_proof"} or \
                body["first"] != self.checkpoint.size or body["second"] != cp.size or \
                not isinstance(body["consistency_proof"], list):
            raise _Bad(f"{CUSTODY_CONSISTENCY} must prove tree {self.checkpoint.size} -> "
                       f"{cp.size}")
        try:
            merkle.verify_consistency(self.checkpoint.size, cp.size, self.checkpoint.root,
                                      cp.root, [_b64_strict(p)
                                                for p in body["consistency_proof"]])
        except FieldProofError as exc:
            raise _Bad(f"{CUSTODY_CHECKPOINT} does not extend {CHECKPOINT}: "
                       f"{exc.detail}") from exc
        return cp

    def check_certificate(self) -> str:
        """certificate.pdf: a PAdES signature over the whole file by a signer under
        keys/server-ca.pem, with a valid RFC 3161 signature timestamp."""
        from pyhanko.pdf_utils.reader import PdfFileReader
        from pyhanko.sign.validation import async_validate_pdf_signature
        from pyhanko.sign.validation.settings import KeyUsageConstraints
        from pyhanko.sign.validation.status import SignatureCoverageLevel
        from pyhanko_certvalidator import ValidationContext

        raw = self.need(CERTIFICATE)
        source = "the pinned server CA" if self.pinned_ca else SERVER_CA
        ca = split_pem_chain(self.pinned_ca or self.need(SERVER_CA))
        if len(ca) != 1 or ca[0] != (self.pinned_ca or self.files[SERVER_CA]):
            raise _Bad(f"{source} must be exactly one PEM certificate")
        try:
            subject, fp = _cert_fingerprint(ca[0])
        except ValueError as exc:
            raise _Bad(f"{source} is not a certificate: {exc}") from exc
        self.report.anchors.append(Anchor("server CA", subject, fp, bool(self.pinned_ca)))
        # Pinned TSA roots replace the bundle's own (whose anchors were reported
        # unpinned in check_timestamps); the signature timestamp sits outside the
        # PDF's signed bytes, so trusting a root the bundle brings would let
        # anyone re-stamp a genuine certificate with any time.
        tsa_roots = list(self.pinned_roots) if self.pinned_roots else \
            [c[-1] for c in self.tsa_chains.values()]
        try:
            pdf = PdfFileReader(io.BytesIO(raw), strict=False)
            sigs = pdf.embedded_signatures
            if len(sigs) != 1:
                raise _Bad(f"{CERTIFICATE} holds {len(sigs)} signatures, expected 1")
            status = run_sync(async_validate_pdf_signature(
                sigs[0], ValidationContext(trust_roots=[_asn1_cert(ca[0])]),
                ts_validation_context=ValidationContext(
                    trust_roots=[_asn1_cert(p) for p in tsa_roots]),
                key_usage_settings=KeyUsageConstraints(
                    key_usage={"digital_signature", "non_repudiation"},
                    match_all_key_usages=False)))
        except _Bad:
            raise
        except Exception as exc:  # pyHanko raises a zoo of types on a damaged PDF
            raise _Bad(f"{CERTIFICATE} cannot be validated: {type(exc).__name__}: {exc}"
                       ) from exc
        if not status.intact:
            raise _Bad(f"{CERTIFICATE} was changed after it was signed (digest mismatch)")
        if not status.valid:
            raise _Bad(f"{CERTIFICATE}: the signature does not verify")
        if status.coverage != SignatureCoverageLevel.ENTIRE_FILE:
            raise _Bad(f"{CERTIFICATE}: content was added after the signature")
        if not status.trusted:
            raise _Bad(f"{CERTIFICATE}: the signer does not chain to {source}")
        ts = status.timestamp_validity
        if ts is None or not (ts.intact and ts.valid and ts.trusted):
            raise _Bad(f"{CERTIFICATE}: no valid, trusted signature timestamp")
        # Signed and whole, but about this capture? Its Keywords (signed bytes) say.
        try:
            words = str(pdf.trailer["/Info"]["/Keywords"]).split()
        except (KeyError, TypeError) as exc:
            raise _Bad(f"{CERTIFICATE} does not name the capture it certifies") from exc
        said = dict(w.split(":", 1) for w in words if ":" in w)
        manifest_sha = hashlib.sha256(self.files.get(MANIFEST, b"")).hexdigest()
        if said.get("manifest-sha256") != manifest_sha or \
                said.get("media-sha256") != self.media.sha256:
            raise _Bad(f"{CERTIFICATE} certifies manifest {said.get('manifest-sha256')} and "
                       f"media {said.get('media-sha256')}, not this bundle's")
        signer = status.signing_cert.subject.human_friendly
        return (f"{CERTIFICATE}: PAdES signature by {signer} over the whole file, "
                f"time-stamped {ts.timestamp.isoformat()}")

    def check_credentials(self, name: str) -> str:
        """A C2PA-credentialed copy: Trusted under the server CA, and its parent
        ingredient is this bundle's original (by SHA-256)."""
        import c2pa

        ext = name.rsplit(".", 1)[-1].lower()
        mime = _C2PA_MIME.get(ext)
        if mime is None:
            raise _Bad(f"{name}: not a format C2PA carries")
        ca = self.pinned_ca or self.files.get(SERVER_CA)
        if not ca:
            raise _Bad(f"no server CA to trust ({SERVER_CA} is missing)")
        settings = {"verify": {"ocsp_fetch": False, "remote_manifest_fetch": False},
                    "trust": {"trust_anchors": ca.decode("ascii", "replace")}}
        try:
            with c2pa.Context(c2pa.Settings.from_dict(settings)) as ctx, \
                    c2pa.Reader(mime, io.BytesIO(self.need(name)), context=ctx) as reader:
                state = reader.get_validation_state()
                store = json.loads(reader.json())
        except _Bad:
            raise
        except Exception as exc:  # c2pa raises its own types for unreadable files
            raise _Bad(f"{name}: no readable C2PA manifest ({type(exc).__name__}: {exc})"
                       ) from exc
        failures = [str(f.get("code")) for f in store.get("validation_status") or []
                    if isinstance(f, dict)]
        if state != "Trusted":
            raise _Bad(f"{name}: C2PA validation state {state}"
                       + (f" ({', '.join(failures)})" if failures else ""))
        active = (store.get("manifests") or {}).get(store.get("active_manifest")) or {}
        parents = [i for i in active.get("ingredients") or []
                   if i.get("relationship") == "parentOf"]
        want = f"fieldproof:sha256:{self.media.sha256}"
        if [i.get("instance_id") for i in parents] != [want]:
            raise _Bad(f"{name}: its parent ingredient is not {self.media_name} "
                       f"(want instance_id {want})")
        return (f"{name}: C2PA manifest Trusted under the server CA, signed by "
                f"{(active.get('signature_info') or {}).get('common_name', '?')}; "
                f"parent ingredient = {self.media_name}")

    def check_layout(self) -> str:
        """Every file is one the layout knows: nothing rides along unchecked."""
        fixed = {*REQUIRED, LOG_VKEY, CHUNKS, CUSTODY, CUSTODY_CHECKPOINT, CUSTODY_CONSISTENCY,
                 CERTIFICATE, SERVER_CA, README}
        extra = [n for n in self.names if not (
            n in fixed or n == self.media_name
            or (n.startswith(TIMESTAMP_DIR) and n.count("/") == 1)
            or (n.startswith(TSA_KEY_DIR) and n.endswith(".pem") and n.count("/") == 2)
            or n in (DERIVED_DIR + "display.jpg", DERIVED_DIR + "privacy.jpg")
            or (n.startswith(DERIVED_DIR + "c2pa.") and n.count("/") == 1))]
        if extra:
            raise _Bad(f"files no bundle holds: {', '.join(sorted(extra)[:10])}")
        conveniences = [n for n in self.names
                        if n in (DERIVED_DIR + "display.jpg", DERIVED_DIR + "privacy.jpg")]
        return f"{len(self.names)} files, all of the bundle layout" + (
            f"; {' and '.join(conveniences)} are conveniences the server made from the "
            "original, not evidence, and are not checked" if conveniences else "")

    # -- all of it --------------------------------------------------------
    def verify(self) -> Report:
        self.load()
        self.parse_chunks()
        self.hash_media()
        self.sums()
        self.run("layout", self.check_layout)
        self.run("manifest", self.check_manifest)
        self.run("device_key", self.check_device_key)
        self.run("signature", self.check_signature)
        self.run("log_entry", self.check_log_entry)
        self.run("media", self.check_media)
        if CHUNKS in self.names or (self.manifest_ok and (
                self.partial or "stream" in self.manifest)):
            self.run("chunks", self.check_chunks)
        self.run("checkpoint", self.check_checkpoint)
        self.run("inclusion", self.check_receipt)
        self.check_timestamps()
        if CERTIFICATE in self.names:
            self.run("certificate", self.check_certificate)
        else:
            self.report.fail("certificate", f"{CERTIFICATE} is missing")
        for name in self.names:
            if name.startswith(DERIVED_DIR + "c2pa."):
                self.run("credentials", lambda name=name: self.check_credentials(name))
        if CUSTODY in self.names:
            self.run("custody", self.check_custody)
        else:
            self.report.fail("custody", f"{CUSTODY} is missing")
        self.report.capture = {
            "manifest_sha256": hashlib.sha256(self.files.get(MANIFEST, b"")).hexdigest(),
            "media": self.media_name, "media_sha256": self.media.sha256,
            "media_size": self.media.size, "key_id": self.key_id,
            "origin": self.checkpoint.origin if self.checkpoint else None,
            "partial": self.partial}
        return self.report


def verify_bundle(files: Mapping[str, bytes] | BundleReader, *, log_vkey: str | None = None,
                  tsa_roots: list[bytes] | None = None,
                  server_ca: bytes | None = None) -> Report:
    """Check every claim of an evidence bundle, offline.

    ``log_vkey`` / ``tsa_roots`` pin the trust anchors; without them the keys
    shipped in the bundle are used and the report's anchors say so. Raises
    :class:`BundleUnusable` when there is no bundle to check (required files
    missing); every other problem is a failed check in the report.
    """
    reader: BundleReader = MemoryBundle(files) if isinstance(files, Mapping) else files
    return _Verify(reader, log_vkey, tsa_roots, server_ca).verify()


def iter_blocks(fh: IO[bytes], size: int = BLOCK) -> Iterator[bytes]:
    while block := fh.read(size):
        yield block
