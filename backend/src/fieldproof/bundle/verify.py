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
import hashlib
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import IO, Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from fieldproof.bundle import chunks, custody, transcript, web
from fieldproof.bundle.common import (
    Checkers,
    CheckFailed,
    MediaDigest,
    cert_fingerprint,
    hash_stream,
    jcs_object,
    json_value,
    strict_b64,
)
from fieldproof.bundle.layout import (
    BLOCK,
    CERTIFICATE,
    CHECKPOINT,
    CHUNKS,
    CONVENIENCES,
    COSIGNED_CHECKPOINT,
    COSIGNED_CUSTODY_CHECKPOINT,
    CUSTODY,
    CUSTODY_CHECKPOINT,
    DERIVED_DIR,
    DEVICE_KEY,
    LOG_ENTRY,
    LOG_VKEY,
    MANIFEST,
    MAX_FILES,
    MAX_SMALL_FILE,
    MAX_SMALL_TOTAL,
    MEDIA_DIR,
    RECEIPT,
    RECEIPT_MEMBERS,
    REQUIRED,
    SERVER_CA,
    SIGNATURE,
    STREAMED,
    SUM_LINE,
    SUMS,
    SUMS_SIGNATURE,
    TIMESTAMP_DIR,
    TSA_KEY_DIR,
    WEB_DIR,
    WEB_RECORDER_CERT,
    is_member,
)
from fieldproof.bundle.read import BundleReader, MemoryBundle
from fieldproof.core import merkle, texts
from fieldproof.core.checkpoint import Checkpoint, Verifier
from fieldproof.core.cosignature import WitnessPolicy, cosignature_names
from fieldproof.core.encoding import b64url_encode, split_pem_certificates
from fieldproof.core.formats import C2PA_COPY_TYPES
from fieldproof.core.keys import DeviceKey
from fieldproof.core.report import Anchor, Report
from fieldproof.core.timestamp import (
    EMBEDDED_POLICY_OID,
    TokenInfo,
    issued_by_any,
    verify_token,
)
from fieldproof.errors import BundleUnusable, FieldProofError

COSIGNED = {COSIGNED_CHECKPOINT: CHECKPOINT, COSIGNED_CUSTODY_CHECKPOINT: CUSTODY_CHECKPOINT}


# --------------------------------------------------------------------------- verification
class _Verify:
    def __init__(self, reader: BundleReader, log_vkey: str | None,
                 tsa_roots: list[bytes] | None, server_ca: bytes | None,
                 checkers: Checkers, witnesses: WitnessPolicy | None = None) -> None:
        self.checkers = checkers
        self.witnesses = witnesses
        self.pinned_ca = server_ca
        self.reader = reader
        self.pinned_vkey = log_vkey
        self.pinned_roots = tsa_roots or None
        self.report = Report()
        self.files: dict[str, bytes] = {}
        self.digests: dict[str, str] = {}
        self.sizes: dict[str, int] = {}
        self.media_name = ""
        self.media = MediaDigest()
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
        except CheckFailed as exc:
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
            if name in STREAMED:
                self.hash_member(name)
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

    def hash_member(self, name: str) -> None:
        """A large member other than the media (a web capture's WARC): hashed in blocks."""
        try:
            with self.reader.open(name) as fh:
                digest = hash_stream(fh, [])
        except Exception as exc:
            self.report.fail("read", f"{name}: cannot be read ({exc})")
            return
        self.digests[name] = digest.sha256
        self.sizes[name] = digest.size

    def hash_media(self) -> None:
        sizes = [c["size"] for c in self.chunks] if self.chunks else []
        try:
            with self.reader.open(self.media_name) as fh:
                self.media = hash_stream(fh, sizes)
        except Exception as exc:
            self.media = MediaDigest(error=f"{self.media_name}: cannot be read ({exc})")
            self.report.fail("read", self.media.error or "")
            return
        self.digests[self.media_name] = self.media.sha256

    def need(self, name: str) -> bytes:
        if name not in self.files:
            raise CheckFailed(f"{name} is missing or unreadable")
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
            m = SUM_LINE.fullmatch(line)
            if m is None:
                problems.append(f"SHA256SUMS: line {i} is not '<sha256>  <file>'")
                continue
            if m.group(2) in listed:
                problems.append(f"SHA256SUMS: {m.group(2)} listed twice")
            listed[m.group(2)] = m.group(1)
        for name in self.names:
            if name in (SUMS, SUMS_SIGNATURE):  # the list, and the signature over it
                continue
            if name not in listed:
                problems.append(f"{name}: not listed in SHA256SUMS")
            elif name in self.digests and self.digests[name] != listed[name]:
                problems.append(f"{name}: SHA-256 differs from SHA256SUMS")
        for name in listed:
            if name not in self.names or name in (SUMS, SUMS_SIGNATURE):
                problems.append(f"SHA256SUMS: lists {name}, which is not in the bundle")
        if problems:
            for p in problems:
                self.report.fail("SHA256SUMS", p)
        else:
            self.report.check("SHA256SUMS", True,
                              f"{len(listed)} files listed, every one matches")

    def check_manifest(self) -> str:
        self.manifest = jcs_object(self.need(MANIFEST), MANIFEST)
        kind = self.manifest.get("type")
        if kind not in ("fieldproof.capture", "fieldproof.stream"):
            raise CheckFailed(f"{MANIFEST}: unknown type {kind!r}")
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
        jwk = jcs_object(self.need(DEVICE_KEY), DEVICE_KEY)
        if set(jwk) != {"crv", "kty", "x", "y"}:
            raise CheckFailed(f"{DEVICE_KEY} must hold exactly crv, kty, x, y")
        key = DeviceKey.from_jwk(jwk)
        if key.jwk != jwk:
            raise CheckFailed(f"{DEVICE_KEY} is not in canonical form")
        if not self.manifest_ok:
            raise CheckFailed(f"cannot compare: {MANIFEST} is unusable")
        if key.key_id != self.key_id:
            raise CheckFailed(f"{DEVICE_KEY} has thumbprint {key.key_id}, the manifest names "
                       f"device {self.key_id}")
        self.device = key
        return f"P-256 key, RFC 7638 thumbprint {key.key_id} = the manifest's device.key_id"

    def check_signature(self) -> str:
        sig = self.need(SIGNATURE)
        if self.device is None:
            raise CheckFailed("no usable device key to check it with")
        if len(sig) != 64:
            raise CheckFailed(f"{SIGNATURE} must be 64 raw bytes r||s, it has {len(sig)}")
        self.device.verify_fast(sig, self.need(MANIFEST))
        return f"ECDSA P-256 signature by device {self.device.key_id} over {MANIFEST}"

    def check_media(self) -> str:
        if self.media.error:
            raise CheckFailed(self.media.error)
        if not self.manifest_ok:
            raise CheckFailed(f"cannot compare: {MANIFEST} is unusable")
        if self.partial:
            # The signed header names no file; the chunks and the log entry do.
            want = self.entry.get("media_sha256") if self.entry else None
            if self.media.sha256 != want:
                raise CheckFailed(f"{self.media_name} hashes to {self.media.sha256}, the log entry "
                           f"says {want}")
            return (f"{self.media_name}: {self.media.size} bytes, SHA-256 {self.media.sha256} "
                    "(as the log entry and the signed chunks say)")
        media = self.manifest.get("media") or {}
        if self.media.sha256 != media.get("sha256"):
            raise CheckFailed(f"{self.media_name} hashes to {self.media.sha256}, the manifest says "
                       f"{media.get('sha256')}")
        if self.media.size != media.get("size"):
            raise CheckFailed(f"{self.media_name} has {self.media.size} bytes, the manifest says "
                       f"{media.get('size')}")
        return f"{self.media_name}: {self.media.size} bytes, SHA-256 {self.media.sha256}"

    def parse_chunks(self) -> None:
        chunks.parse_chunks(self)

    def check_chunks(self) -> str:
        return chunks.check_chunks(self)

    def check_log_entry(self) -> str:
        self.entry = jcs_object(self.need(LOG_ENTRY), LOG_ENTRY)
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
            raise CheckFailed("; ".join(problems))
        return (f"binds manifest {e['manifest_sha256'][:16]}..., its signature, device "
                f"{e['key_id']} and media {e['media_sha256'][:16]}..., received "
                f"{e.get('received_at')}")

    def check_receipt(self) -> str:
        receipt = json_value(self.need(RECEIPT), RECEIPT)
        if not isinstance(receipt, dict) or set(receipt) != RECEIPT_MEMBERS:
            raise CheckFailed(f"{RECEIPT} must hold exactly {', '.join(sorted(RECEIPT_MEMBERS))}")
        leaf = merkle.leaf_hash(self.need(LOG_ENTRY))
        if strict_b64(receipt["leaf_hash"]) != leaf:
            raise CheckFailed("leaf_hash is not SHA-256(0x00 || log-entry.json)")
        if self.checkpoint is None:
            raise CheckFailed("no verified checkpoint to prove inclusion in")
        cp = self.checkpoint
        if receipt["origin"] != cp.origin or receipt["tree_size"] != cp.size:
            raise CheckFailed(f"receipt says {receipt['origin']} size {receipt['tree_size']}, the "
                       f"checkpoint {cp.origin} size {cp.size}")
        index = receipt["leaf_index"]
        proof = receipt["inclusion_proof"]
        if not isinstance(index, int) or isinstance(index, bool) or not isinstance(proof, list):
            raise CheckFailed("leaf_index must be an integer and inclusion_proof a list")
        merkle.verify_inclusion(index, cp.size, leaf, [strict_b64(p) for p in proof], cp.root)
        return f"leaf {index} (SHA-256(0x00 || log-entry.json)) is in tree {cp.size}"

    def check_log_key(self) -> Verifier:
        raw = self.files.get(LOG_VKEY)
        bundled: Verifier | None = None
        if raw is not None:
            try:
                bundled = Verifier.parse(raw.decode("utf-8"))
            except (UnicodeDecodeError, FieldProofError) as exc:
                raise CheckFailed(f"{LOG_VKEY} is not a C2SP verifier key: {exc}") from exc
            if raw != (bundled.vkey() + "\n").encode():
                raise CheckFailed(f"{LOG_VKEY} is not exactly one verifier key line")
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
            raise CheckFailed(f"{LOG_VKEY} is missing and no key is pinned")
        self.report.anchors.append(Anchor("log key", bundled.vkey(),
                                          "sha256:" + bundled.fingerprint, False))
        self.report.check("log_key", True, f"{LOG_VKEY}: {bundled.name}")
        return bundled

    def check_checkpoint(self) -> str:
        try:
            verifier = self.check_log_key()
        except CheckFailed as exc:
            self.report.fail("log_key", str(exc))
            raise CheckFailed("no usable log key") from exc
        except FieldProofError as exc:
            self.report.fail("log_key", exc.detail)
            raise CheckFailed("no usable log key") from exc
        cp = Checkpoint.parse(verifier.open(self.need(CHECKPOINT)))
        self.log_verifier = verifier
        if cp.origin != verifier.name:
            raise CheckFailed(f"origin {cp.origin} is not the key's name {verifier.name}")
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
                pems = split_pem_certificates(raw)
                if not pems or b"".join(pems) != raw:
                    raise CheckFailed(f"{name} is not a plain chain of PEM certificates")
                certs = [x509.load_pem_x509_certificate(p) for p in pems]
                if b"".join(c.public_bytes(Encoding.PEM) for c in certs) != raw:
                    raise CheckFailed(f"{name}: certificates are not in canonical PEM form")
                parsed[stem] = pems
                self.tsa_chains[stem] = pems
                subject, fp = cert_fingerprint(pems[-1])
                if not self.pinned_roots:
                    self.report.anchors.append(Anchor("TSA root", f"{subject} for {stem}", fp,
                                                      False))
                self.report.check("tsa_chain", True,
                                  f"{name}: {len(pems)} certificates, root {subject}")
            except CheckFailed as exc:
                self.report.fail("tsa_chain", str(exc))
            except ValueError as exc:
                self.report.fail("tsa_chain", f"{name}: {exc}")
        for pem in self.pinned_roots or []:
            try:
                subject, fp = cert_fingerprint(pem)
            except ValueError as exc:
                self.report.fail("timestamp", f"a pinned TSA root is not a certificate: {exc}")
                return
            self.report.anchors.append(Anchor("TSA root", subject, fp, True))
        if not tokens:
            self.report.fail("timestamp", "no RFC 3161 token in timestamps/")
            return
        note = self.files.get(CHECKPOINT, b"")
        verified: list[tuple[str, TokenInfo, list[bytes]]] = []
        for name in tokens:
            stem = name[len(TIMESTAMP_DIR):].removesuffix(".tsr")
            chain = parsed.get(stem, [])
            roots = self.pinned_roots or chain[-1:]
            try:
                if not name.endswith(".tsr"):
                    raise CheckFailed("a token file ends in .tsr")
                if not roots:
                    raise CheckFailed(f"no trust anchor: {TSA_KEY_DIR}{stem}.pem is missing or "
                               "unusable and no --tsa-root is pinned")
                info = verify_token(self.need(name), note, roots_pem=roots,
                                    intermediates_pem=chain[:-1] if not self.pinned_roots
                                    else chain)
            except CheckFailed as exc:
                self.report.fail("timestamp", f"{name}: {exc}")
            except FieldProofError as exc:
                self.report.fail("timestamp", f"{name}: {exc.detail}")
            else:
                verified.append((name, info, chain))
        # Independent only if the signer is not the server's own: not issued by
        # the embedded TSA's root nor by the server CA, whatever its policy says.
        own = [c[-1] for _, i, c in verified if i.policy == EMBEDDED_POLICY_OID and c]
        if self.pinned_ca or self.files.get(SERVER_CA):
            own.append(self.pinned_ca or self.files[SERVER_CA])
        independent = 0
        for name, info, _ in verified:
            if info.policy == EMBEDDED_POLICY_OID:
                label = " [embedded: the server's own TSA, not an independent witness]"
            elif info.signer_cert_der and not issued_by_any(info.signer_cert_der, own):
                independent += 1
                label = " [external TSA, independent: its chain is not the server's]"
            else:
                label = (" [external TSA, but issued by the server's own CA: not an "
                         "independent witness]")
            self.report.check("timestamp", True,
                              f"{name}: {info.tsa_name} time-stamped {CHECKPOINT} at "
                              f"{info.gen_time.isoformat()}{label}")
        if verified and not independent:
            self.report.warn(texts.text("trust", "embedded_only", "en") + " / "
                             + texts.text("trust", "embedded_only", "zh-CN"))

    def check_custody(self) -> str:
        return custody.check_custody(self)

    def custody_checkpoint(self) -> Checkpoint | None:
        return custody.custody_checkpoint(self)

    def server_ca(self) -> tuple[bytes, str]:
        """The server CA to trust: the pinned one, else keys/server-ca.pem; exactly one
        PEM certificate, reported once as a trust anchor."""
        source = "the pinned server CA" if self.pinned_ca else SERVER_CA
        ca = split_pem_certificates(self.pinned_ca or self.need(SERVER_CA))
        if len(ca) != 1 or ca[0] != (self.pinned_ca or self.files[SERVER_CA]):
            raise CheckFailed(f"{source} must be exactly one PEM certificate")
        try:
            subject, fp = cert_fingerprint(ca[0])
        except ValueError as exc:
            raise CheckFailed(f"{source} is not a certificate: {exc}") from exc
        anchor = Anchor("server CA", subject, fp, bool(self.pinned_ca))
        if anchor not in self.report.anchors:  # asked by several checks: said once
            self.report.anchors.append(anchor)
            shipped = self.files.get(SERVER_CA)
            if self.pinned_ca and shipped is not None and \
                    _cert_der(shipped) != _cert_der(ca[0]):
                try:
                    theirs = cert_fingerprint(shipped)[1]
                except ValueError:
                    theirs = "not a certificate"
                self.report.warn(f"{SERVER_CA} in the bundle ({theirs}) is not the pinned "
                                 f"server CA ({fp}); the signatures are checked against the "
                                 "pinned one only")
        return ca[0], source

    def tsa_roots(self) -> list[bytes]:
        # Pinned TSA roots replace the bundle's own (whose anchors were reported
        # unpinned in check_timestamps); a signature timestamp sits outside the
        # signed bytes, so trusting a root the bundle brings would let anyone
        # re-stamp a genuine signature with any time.
        return list(self.pinned_roots) if self.pinned_roots else \
            [c[-1] for c in self.tsa_chains.values()]

    def check_sums_signature(self) -> str:
        """SHA256SUMS.p7s: the server's CMS signature over SHA256SUMS, time-stamped."""
        ca, source = self.server_ca()
        return self.checkers.sums_signature(
            self.need(SUMS_SIGNATURE), self.need(SUMS), name=SUMS_SIGNATURE, server_ca=ca,
            ca_source=source, tsa_roots=self.tsa_roots())

    def check_certificate(self) -> str:
        """certificate.pdf: signed over the whole file under the server CA, time-stamped,
        and about this bundle's manifest and media (checkers.py does the PDF work)."""
        ca, source = self.server_ca()
        return self.checkers.certificate(
            self.need(CERTIFICATE), server_ca=ca, ca_source=source, tsa_roots=self.tsa_roots(),
            manifest_sha256=hashlib.sha256(self.files.get(MANIFEST, b"")).hexdigest(),
            media_sha256=self.media.sha256)

    def check_credentials(self, name: str) -> str:
        """A C2PA-credentialed copy: Trusted under the server CA, and its parent
        ingredient is this bundle's original (checkers.py reads the C2PA)."""
        mime = C2PA_COPY_TYPES.get(name.rsplit(".", 1)[-1].lower())
        if mime is None:
            raise CheckFailed(f"{name}: not a format C2PA carries")
        ca = self.pinned_ca or self.files.get(SERVER_CA)
        if not ca:
            raise CheckFailed(f"no server CA to trust ({SERVER_CA} is missing)")
        return self.checkers.credentials(name, self.need(name), mime, server_ca=ca,
                                         media_sha256=self.media.sha256,
                                         media_name=self.media_name or "")

    def check_web_recorder(self) -> str:
        if self.device is None:
            raise CheckFailed("the device key did not check out")
        if self.manifest.get("kind") != "web":
            raise CheckFailed("web capture files in a bundle whose manifest is not kind 'web'")
        return web.check_recorder(self.files.get(WEB_RECORDER_CERT),
                                  self.pinned_ca or self.files.get(SERVER_CA), self.device,
                                  (self.manifest.get("captured") or {}).get("start"))

    def check_layout(self) -> str:
        """Every file is one the layout knows: nothing rides along unchecked."""
        extra = [n for n in self.names if not is_member(n, self.media_name)]
        if extra:
            raise CheckFailed(f"files no bundle holds: {', '.join(sorted(extra)[:10])}")
        conveniences = [n for n in self.names if n in CONVENIENCES]
        return f"{len(self.names)} files, all of the bundle layout" + (
            f"; {' and '.join(conveniences)} are conveniences the server made from the "
            "original, not evidence, and are not checked" if conveniences else "")

    def check_witnesses(self) -> str:
        """cosigned/*.txt: the log's checkpoint files with witnesses' cosignature lines
        appended and nothing else changed; with --witness, N of M pinned witnesses
        cosigned one of them (the custody checkpoint extends the receipt's, which
        the custody check proves)."""
        notes = []
        for cosigned, plain in COSIGNED.items():
            if cosigned not in self.names:
                continue
            note, base = self.need(cosigned), self.need(plain)
            extra = note[len(base):].decode("utf-8", "replace")
            if not note.startswith(base) or not extra or any(
                    not ln.startswith("\u2014 ") for ln in extra.splitlines()):
                raise CheckFailed(f"{cosigned} is not {plain} with cosignature lines added")
            notes.append(note)
        for key in self.witnesses.keys if self.witnesses else ():
            self.report.anchors.append(Anchor("witness", key.name, key.fingerprint, True))
        if self.witnesses is None:
            names = sorted({n for note in notes for n in cosignature_names(
                note, self.log_verifier.name if self.log_verifier else "")})
            return (f"cosigned by {', '.join(names)} (not checked: pin witnesses with "
                    "--witness to require their cosignatures)")
        ok, said = self.witnesses.check(notes)
        if not ok:
            raise CheckFailed(said)
        return said

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
            self.run("continuity", lambda: chunks.check_continuity(self))
        self.run("checkpoint", self.check_checkpoint)
        self.run("inclusion", self.check_receipt)
        self.check_timestamps()
        if CERTIFICATE in self.names:
            self.run("certificate", self.check_certificate)
        else:
            self.report.fail("certificate", f"{CERTIFICATE} is missing")
        if SUMS_SIGNATURE in self.names:
            self.run("sums_signature", self.check_sums_signature)
        else:
            self.report.fail("sums_signature", f"{SUMS_SIGNATURE} is missing: nothing signs "
                             f"{SUMS}")
        for name in self.names:
            if name.startswith(DERIVED_DIR + "c2pa."):
                self.run("credentials", lambda name=name: self.check_credentials(name))
        if CUSTODY in self.names:
            self.run("custody", self.check_custody)
        else:
            self.report.fail("custody", f"{CUSTODY} is missing")
        if self.witnesses is not None or any(n in self.names for n in COSIGNED):
            self.run("witnesses", self.check_witnesses)
        if (self.manifest_ok and self.manifest.get("kind") == "web") or any(
                n.startswith(WEB_DIR) or n == WEB_RECORDER_CERT for n in self.names):
            self.run("web_files", lambda: web.check_files(
                self.manifest, self.names, self.digests,
                {**{n: len(d) for n, d in self.files.items()}, **self.sizes}))
            self.run("web_recorder", self.check_web_recorder)
        if transcript.has_transcript(self.names):
            self.run("transcript", lambda: transcript.check_transcript(self))
        self.report.capture = {
            "manifest_sha256": hashlib.sha256(self.files.get(MANIFEST, b"")).hexdigest(),
            "media": self.media_name, "media_sha256": self.media.sha256,
            "media_size": self.media.size, "key_id": self.key_id,
            "origin": self.checkpoint.origin if self.checkpoint else None,
            "partial": self.partial}
        return self.report


def verify_bundle(files: Mapping[str, bytes] | BundleReader, *, log_vkey: str | None = None,
                  tsa_roots: list[bytes] | None = None, server_ca: bytes | None = None,
                  checkers: Checkers | None = None,
                  witnesses: WitnessPolicy | None = None) -> Report:
    """Check every claim of an evidence bundle, offline.

    ``log_vkey`` / ``tsa_roots`` pin the trust anchors; without them the keys
    shipped in the bundle are used and the report's anchors say so. Raises
    :class:`BundleUnusable` when there is no bundle to check (required files
    missing); every other problem is a failed check in the report.
    """
    reader: BundleReader = MemoryBundle(files) if isinstance(files, Mapping) else files
    if checkers is None:
        from fieldproof.bundle.checkers import default_checkers

        checkers = default_checkers()
    return _Verify(reader, log_vkey, tsa_roots, server_ca, checkers, witnesses).verify()


def iter_blocks(fh: IO[bytes], size: int = BLOCK) -> Iterator[bytes]:
    while block := fh.read(size):
        yield block


def _cert_der(pem: bytes) -> bytes | None:
    """The DER of a PEM certificate (so that line endings do not count), None if it is not one."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    try:
        return x509.load_pem_x509_certificate(pem).public_bytes(Encoding.DER)
    except ValueError:
        return None
