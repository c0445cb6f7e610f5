"""Evidence bundles: one zip that proves a capture with no server (core/bundle.py).

The zip is written to an anonymous temporary file (gone once closed), the media
streamed into it from the object store block by block, never held in memory.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from fieldproof.accounts.accounts import Accounts, Principal
from fieldproof.bundle import layout as b
from fieldproof.capture.continuity import Continuity
from fieldproof.capture.records import CaptureRecord
from fieldproof.capture.repository import Captures
from fieldproof.capture.streams import StreamParts, Streams
from fieldproof.core.canonical import canonicalize, parse_json
from fieldproof.core.cosignature import CosignerKey
from fieldproof.core.encoding import b64, b64url_encode
from fieldproof.core.formats import extension
from fieldproof.core.keys import DeviceKey
from fieldproof.core.manifest import iso
from fieldproof.db.models import utcnow
from fieldproof.errors import CustodyChainConflict, FieldProofError, PublicUrlRequired
from fieldproof.evidence.certificate import facts_from_records, make_certificate
from fieldproof.evidence.derived import Deriver
from fieldproof.evidence.identity import ServerIdentity
from fieldproof.evidence.sums_signature import sign_sums
from fieldproof.evidence.verify_md import verify_md
from fieldproof.log.custody import SYSTEM, Custody, Origin, PreparedEvent
from fieldproof.log.log import Receipt, TransparencyLog, node_getter
from fieldproof.storage import ObjectStore
from fieldproof.transcripts.pdf import transcript_pdf
from fieldproof.transcripts.versions import StoredVersion, Transcripts

log = logging.getLogger(__name__)

def media_file_name(manifest: dict[str, Any], mime: str) -> str:
    name = (manifest.get("media") or {}).get("name")
    if isinstance(name, str) and name.strip():
        return b.safe_name(name, default="original")
    return "original" + extension(mime)


@dataclass
class Bundle:
    """A finished bundle: an open anonymous temp file, its size and a download name."""

    file: IO[bytes]
    size: int
    filename: str

    def iter_and_close(self, block: int = 1 << 20) -> Iterator[bytes]:
        try:
            self.file.seek(0)
            while data := self.file.read(block):
                yield data
        finally:
            self.file.close()


def qr_base(request_url: str) -> str:
    """The request's own base URL, if it can be the certificate's QR link.

    The Host header is the client's to choose: a signed certificate must not
    link wherever a caller says. Without FIELDPROOF_PUBLIC_URL only an IP
    address or localhost (a LAN or development server) is taken from it.
    """
    host = (urlsplit(request_url).hostname or "").strip("[]")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if host != "localhost":
            raise PublicUrlRequired(
                "set FIELDPROOF_PUBLIC_URL: the certificate's QR code needs this server's "
                f"public address, and the request's host {host!r} is not proof of it") from None
    return request_url.rstrip("/")


# A web capture's kept files as (name, object key), and its recorder's certificate
# (webcap/): given by the services, so this module needs no web capture code.
WebParts = Callable[[CaptureRecord], tuple[list[tuple[str, str]], bytes]]


class Exporter:
    def __init__(self, captures: Captures, streams: Streams, accounts: Accounts,
                 log: TransparencyLog, store: ObjectStore, custody: Custody, deriver: Deriver,
                 identity: ServerIdentity, tmp_dir: Path | None = None,
                 public_url: str | None = None, operator_name: str | None = None,
                 web_parts: WebParts | None = None, transcripts: Transcripts | None = None,
                 transcriber_cert: Callable[[], bytes] | None = None,
                 continuity: Continuity | None = None) -> None:
        self.continuity = continuity
        self.operator_name = operator_name
        self.transcripts = transcripts
        self.transcriber_cert = transcriber_cert
        self.web_parts = web_parts
        self.captures = captures
        self.streams = streams
        self.accounts = accounts
        self.log = log
        self.store = store
        self.custody = custody
        self.deriver = deriver
        self.identity = identity
        self.tmp_dir = tmp_dir
        self.public_url = public_url

    def export(self, principal: Principal, capture_id: str, *,
               origin: Origin = SYSTEM, base_url: str = "http://127.0.0.1:8000",
               actor: dict[str, Any] | None = None,
               detail: dict[str, Any] | None = None) -> Bundle:
        """``base_url``: where the request came to; the certificate's QR code links
        there unless FIELDPROOF_PUBLIC_URL says otherwise. ``principal`` is the
        owner; ``actor`` who the custody event names when it is not the owner
        (a share link), ``detail`` what it adds (the case exported with it)."""
        base = self.public_url or qr_base(base_url)
        capture = self.captures.get(principal, capture_id)  # 404 unless the caller's
        receipt = self.log.receipt(capture_id)  # 409 not_anchored before a timestamp
        media_name = b.MEDIA_DIR + media_file_name(capture.manifest_data, capture.media_mime)
        # The signed certificate first: if no TSA can stamp it, fail before
        # anything is recorded (503 certificate_timestamp_unavailable).
        certificate = self._certificate(capture, receipt, media_name, base)
        # The export is itself a custody event. The bundle lists it (as not yet
        # in the log), and it is committed only once the bundle is written: an
        # export that fails (the store down, the original missing) is not one.
        # Its record names the custody chain's head (log/custody.py); if another
        # event of the capture lands while the bundle is written, the record
        # the bundle holds is stale, so the bundle is written again.
        for attempt in range(Custody.RETRIES):
            export_event = self.custody.prepare(actor or principal, capture, "export",
                                                origin=origin, detail=detail)
            try:
                return self._bundle(capture, receipt, certificate, media_name, export_event)
            except CustodyChainConflict:
                if attempt == Custody.RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    def _bundle(self, capture: CaptureRecord, receipt: Receipt, certificate: bytes,
                media_name: str, export_event: PreparedEvent | None) -> Bundle:
        info = self.log.info()
        latest = self.log.latest_checkpoint()
        lines = self.custody.bundle_lines(capture.id, latest.size, node_getter)
        if export_event is not None:
            lines.append({"record": export_event.record.decode("utf-8"), "leaf_index": None})
        custody = {
            "lines": lines,
            "checkpoint": latest.note,
            "cosignatures": self.log.cosigned_note(latest)[len(latest.note):],
            "consistency": {"first": receipt.tree_size, "second": latest.size,
                            "consistency_proof": self.log.consistency(
                                receipt.tree_size, latest.size)["consistency_proof"]},
        }
        transcript = self._transcript(capture, media_name, latest.size)
        device_jwk = self.accounts.device_jwk(capture.device_id)
        stream = self.streams.bundle_parts(capture.stream_id) if capture.stream_id else None
        if self.tmp_dir is not None:
            self.tmp_dir.mkdir(parents=True, exist_ok=True)
        fh = tempfile.TemporaryFile(dir=self.tmp_dir)  # noqa: SIM115 - closed by Bundle
        try:
            self._write(fh, capture, device_jwk, receipt, info, stream, custody,
                        certificate, media_name, transcript)
            size = fh.seek(0, 2)
            if export_event is not None:
                self.custody.commit(export_event)
        except BaseException:
            fh.close()
            raise
        return Bundle(fh, size, f"fieldproof-{capture.id}.zip")

    def transcript_pdf(self, capture: CaptureRecord,
                       versions: list[StoredVersion] | None = None) -> bytes:
        """The 文字稿 of the capture's newest transcript version, signed
        (409 transcript_missing before there is one)."""
        assert self.transcripts is not None
        media_name = b.MEDIA_DIR + media_file_name(capture.manifest_data, capture.media_mime)
        return transcript_pdf(
            capture, self.transcripts.versions(capture.id) if versions is None else versions,
            media_name=media_name, operator=self.operator_name,
            identity=self.identity.get("pdf"), tsas=self.log.tsas,
            on_fallback=lambda name, why: log.warning("TSA %s did not stamp a transcript: %s",
                                                      name, why))

    def _transcript(self, capture: CaptureRecord, media_name: str,
                    tree_size: int) -> dict[str, bytes]:
        """A bundle's transcript/ files, transcript.pdf and the transcriber's
        certificate; empty when the capture has no transcript."""
        if self.transcripts is None:
            return {}
        lines = self.transcripts.bundle_lines(capture.id, tree_size, node_getter)
        if not lines:
            return {}
        files: dict[str, bytes] = {}
        for v, _ in lines:
            files[f"{b.TRANSCRIPT_DIR}v{v.version}.json"] = v.document.encode("utf-8")
            files[f"{b.TRANSCRIPT_DIR}v{v.version}.sig"] = v.signature
            if v.signer_jwk:
                files[f"{b.TRANSCRIPT_DIR}v{v.version}.jwk"] = v.signer_jwk.encode("utf-8")
        files[b.TRANSCRIPT_LOG] = b"".join(canonicalize(line) + b"\n" for _, line in lines)
        files[b.TRANSCRIPT_PDF] = self.transcript_pdf(capture, [v for v, _ in lines])
        # every transcriber certificate a machine version was signed under, once each
        certs = list(dict.fromkeys(
            (v.signer_cert or "").encode("ascii") or (self.transcriber_cert()
                                                      if self.transcriber_cert else b"")
            for v, _ in lines if v.origin == "machine"))
        if any(certs):
            files[b.TRANSCRIBER_CERT] = b"".join(c for c in certs if c)
        return files

    def certificate(self, capture: CaptureRecord, *, base_url: str) -> bytes:
        """The signed certificate alone ("出证"), for a capture the caller may read.

        409 not_anchored before the capture is in a time-stamped checkpoint;
        the caller records the custody event once it is served.
        """
        receipt = self.log.receipt(capture.id)
        media_name = b.MEDIA_DIR + media_file_name(capture.manifest_data, capture.media_mime)
        return self._certificate(capture, receipt, media_name,
                                 self.public_url or qr_base(base_url))

    def _certificate(self, capture: CaptureRecord, receipt: Receipt, media_name: str,
                     base: str) -> bytes:
        try:
            picture: bytes | None = self.deriver.thumbnail(capture).data
        except FieldProofError:  # no picture for this file: the certificate says it in words
            picture = None
        return make_certificate(
            facts_from_records(capture, receipt, media_name=media_name, public_base_url=base,
                               exported_at=iso(utcnow()) or "", thumbnail=picture,
                               operator=self.operator_name,
                               web_environment=self._web_environment(capture),
                               continuity=self.continuity.of(capture)
                               if self.continuity else None,
                               **self._trust_facts()),
            self.identity.get("pdf"), self.log.tsas,
            on_fallback=lambda name, why: log.warning("TSA %s did not stamp a certificate: %s",
                                                      name, why))

    def _web_environment(self, capture: CaptureRecord) -> dict[str, Any] | None:
        """A web capture's environment.json (what its certificate states), else None."""
        if capture.kind != "web" or self.web_parts is None:
            return None
        files, _ = self.web_parts(capture)
        for name, key in files:
            if name == "environment.json":
                data = parse_json(b"".join(self.store.iter_range(key)))
                return data if isinstance(data, dict) else None
        return None

    def _trust_facts(self) -> dict[str, Any]:
        """The server's own CAs, each TSA's root and the log key's fingerprint."""
        own = [self.identity.get("pdf").root_pem]
        roots: dict[str, bytes] = {}
        for tsa in self.log.tsas:
            chain = getattr(tsa, "chain_pem", None)
            pems = chain() if chain else []
            if pems:
                roots[tsa.name] = pems[-1]
                if tsa.embedded:
                    own.append(pems[-1])
        return {"own_roots_pem": own, "tsa_roots_pem": roots,
                "log_key_sha256": f"sha256:{self.log.signer.verifier.fingerprint}"}

    # -----------------------------------------------------------------------
    def _write(self, fh: IO[bytes], capture: CaptureRecord, device_jwk: dict[str, Any],
               receipt: Receipt, info: dict[str, Any], stream: StreamParts | None,
               custody: dict[str, Any], certificate: bytes, media_name: str,
               transcript: dict[str, bytes]) -> None:
        now = utcnow()
        stamp = now.timetuple()[:6]
        digests: dict[str, str] = {}

        with zipfile.ZipFile(fh, "w", allowZip64=True) as zf:
            def put(name: str, data: bytes) -> None:
                zi = zipfile.ZipInfo(name, date_time=stamp)  # type: ignore[arg-type]
                zi.compress_type = zipfile.ZIP_DEFLATED
                zi.external_attr = 0o644 << 16
                zf.writestr(zi, data)
                digests[name] = hashlib.sha256(data).hexdigest()

            put(b.MANIFEST, capture.manifest.encode("utf-8"))
            put(b.SIGNATURE, capture.signature)
            put(b.DEVICE_KEY, canonicalize(DeviceKey.from_jwk(device_jwk).jwk))

            zi = zipfile.ZipInfo(media_name, date_time=stamp)  # type: ignore[arg-type]
            zi.compress_type = zipfile.ZIP_STORED
            zi.external_attr = 0o644 << 16
            digest = hashlib.sha256()
            with zf.open(zi, "w", force_zip64=True) as out:
                for block in self.store.iter_range(capture.object_key):
                    digest.update(block)
                    out.write(block)
            digests[media_name] = digest.hexdigest()

            if capture.kind == "web" and self.web_parts is not None:
                files, recorder_cert = self.web_parts(capture)
                for name, object_key in files:
                    zi = zipfile.ZipInfo(b.WEB_DIR + name, date_time=stamp)  # type: ignore[arg-type]
                    zi.compress_type = zipfile.ZIP_STORED
                    zi.external_attr = 0o644 << 16
                    digest = hashlib.sha256()
                    with zf.open(zi, "w", force_zip64=True) as out:
                        for block in self.store.iter_range(object_key):
                            digest.update(block)
                            out.write(block)
                    digests[b.WEB_DIR + name] = digest.hexdigest()
                put(b.WEB_RECORDER_CERT, recorder_cert)

            derived = self.deriver.bundle_copies(capture)
            for name, data in derived.items():
                put(f"{b.DERIVED_DIR}{name}", data)

            if stream is not None:
                put(b.CHUNKS, canonicalize({
                    "stream_header": stream.header,
                    "header_signature": b64url_encode(stream.header_signature),
                    "chunks": [{"seq": c.seq, "size": c.size, "sha256": c.sha256,
                                "chain": c.chain, "header": c.header,
                                "signature": b64url_encode(c.signature)}
                               for c in stream.chunks]}))

            put(b.LOG_ENTRY, receipt.entry.encode("utf-8"))
            put(b.RECEIPT, (json.dumps({
                "origin": receipt.origin, "leaf_index": receipt.leaf_index,
                "tree_size": receipt.tree_size, "leaf_hash": b64(receipt.leaf_hash),
                "inclusion_proof": [b64(p) for p in receipt.inclusion_proof]},
                indent=2) + "\n").encode())
            note = receipt.checkpoint.encode("utf-8")
            put(b.CHECKPOINT, note)
            put(b.LOG_VKEY, (info["vkey"] + "\n").encode())
            if receipt.cosignatures:
                put(b.COSIGNED_CHECKPOINT, note + receipt.cosignatures.encode("utf-8"))
            if custody["cosignatures"]:
                put(b.COSIGNED_CUSTODY_CHECKPOINT,
                    (custody["checkpoint"] + custody["cosignatures"]).encode("utf-8"))
            if self.log.witnesses:
                put(b.WITNESS_VKEYS, "".join(CosignerKey.parse(w.vkey).vkey() + "\n"
                                             for w in self.log.witnesses).encode())

            chains = {t["name"]: t.get("chain_pem") or [] for t in info.get("tsa", [])}
            embedded = {t["name"] for t in info.get("tsa", []) if t.get("embedded")}
            tsa_files: list[tuple[str, str, bool, str]] = []
            used: set[str] = set()
            for t in receipt.timestamps:
                stem = b.safe_name(t.tsa, default="tsa")
                base, n = stem, 2
                while stem in used:
                    stem, n = f"{base}-{n}", n + 1
                used.add(stem)
                put(f"{b.TIMESTAMP_DIR}{stem}.tsr", t.token)
                chain = chains.get(t.tsa, [])
                if chain:
                    put(f"{b.TSA_KEY_DIR}{stem}.pem", "".join(chain).encode())
                tsa_files.append((stem, t.tsa, t.tsa in embedded or t.embedded,
                                  iso(t.gen_time) or ""))

            for name, data in transcript.items():
                put(name, data)
            put(b.CERTIFICATE, certificate)
            put(b.SERVER_CA, self.identity.get("pdf").root_pem)
            put(b.CUSTODY, b"".join(canonicalize(line) + b"\n"
                                    for line in custody["lines"]))
            put(b.CUSTODY_CHECKPOINT, custody["checkpoint"].encode("utf-8"))
            put(b.CUSTODY_CONSISTENCY, canonicalize(custody["consistency"]))
            put(b.README, verify_md(capture=capture, media_name=media_name,
                                    origin=receipt.origin, tsas=tsa_files,
                                    stream=stream is not None, exported=now,
                                    derived=sorted(derived),
                                    transcript=sorted(
                                        (int(n[len(b.TRANSCRIPT_DIR) + 1:-5]),
                                         parse_json(d).get("origin", ""))
                                        for n, d in transcript.items()
                                        if n.startswith(b.TRANSCRIPT_DIR) and
                                        n.endswith(".json"))).encode())
            sums = b.sums_text(digests)
            zi = zipfile.ZipInfo(b.SUMS, date_time=stamp)  # type: ignore[arg-type]
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            zf.writestr(zi, sums)
            zi = zipfile.ZipInfo(b.SUMS_SIGNATURE, date_time=stamp)  # type: ignore[arg-type]
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            zf.writestr(zi, sign_sums(
                sums, self.identity.get("pdf"), self.log.tsas,
                on_fallback=lambda name, why: log.warning(
                    "TSA %s did not stamp a bundle signature: %s", name, why)))
