"""HTTP API v1: parse, call one service, serialize. Nothing else lives here."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, jsonify, request
from sqlalchemy import text

from fieldproof.capture.records import CaptureRecord
from fieldproof.capture.repository import CaptureQuery
from fieldproof.capture.spool import HashingSpool
from fieldproof.core.encoding import b64url_strict
from fieldproof.core.manifest import MANIFEST_HEADER, MAX_MANIFEST_HEADER, SIGNATURE_HEADER
from fieldproof.errors import (
    CustodyUnavailable,
    FieldProofError,
    InvalidManifest,
    LengthRequired,
    ManifestMissing,
    ManifestTooLarge,
    MediaMissing,
    MultipartRequired,
    NotARecording,
    QueryInvalid,
    SignatureMissing,
    SizeMismatch,
    TooLarge,
    map_storage_error,
)
from fieldproof.evidence.derived import THUMBNAIL_VARIANT
from fieldproof.log.custody import Origin
from fieldproof.services import Services
from fieldproof.web.auth import MAX_TEXT_BODY, authenticator, json_body, principal
from fieldproof.web.openapi import spec
from fieldproof.web.originals import b64_digest, original_response
from fieldproof.web.serialize import capture_json, receipt_json
from fieldproof.web.upload import spool_body

MAX_MANIFEST_PART = 16 * 1024
MAX_SIGNATURE_PART = 4 * 1024
MAX_LIST = 200


def make_blueprint(services: Services) -> Blueprint:
    bp = Blueprint("api_v1", __name__)
    authenticated = authenticator(services)  # the accounts routes are in accounts_api.py

    def record_read(capture: CaptureRecord, event: str,
                    detail: dict[str, Any] | None = None) -> None:
        """A custody event for this request's read of ``capture`` (HEAD reads nothing).

        Called once the read is sure to be served. A read that cannot be
        recorded (a full disk, a database down) is refused: the chain of
        custody promises that every read it does not list never happened.
        """
        if request.method == "HEAD":
            return
        try:
            services.custody.record(principal(), capture, event, origin=origin(),
                                    detail=detail)
        except Exception as exc:
            cause = map_storage_error(exc)
            if cause is None:
                raise
            raise CustodyUnavailable(
                "this read cannot be entered in the chain of custody right now "
                f"({cause.code}), so it is not served; try again later",
                cause=cause.code, retry_after=30) from exc

    def origin() -> Origin:
        return Origin(ip=request.remote_addr, user_agent=request.user_agent.string or None)

    @bp.get("/health")
    def health() -> Any:
        with services.db.session() as s:
            s.execute(text("SELECT 1"))
        return {"status": "ok", "database": services.db.dialect, "store": services.store.name,
                "node": services.settings.node_name}

    @bp.get("/openapi.json")
    def openapi() -> Any:
        return jsonify(spec())

    @bp.post("/nonces")
    @authenticated
    def nonce() -> Any:
        return services.ingest.issue_nonce(principal()), 201

    @bp.post("/captures")
    @authenticated
    def upload() -> Any:
        if MANIFEST_HEADER in request.headers:
            manifest, signature, spool = _raw_upload()
        elif (request.mimetype or "").startswith("multipart/form-data"):
            manifest, signature, spool = _form_upload()
        else:
            raise MultipartRequired("send multipart/form-data with manifest, signature and "
                                    f"media, or the media as the body with {MANIFEST_HEADER} "
                                    f"and {SIGNATURE_HEADER} headers")
        result = services.ingest.ingest(principal(), manifest, signature, spool)
        status = 201 if result.created else 200
        resp = jsonify(capture_json(result.capture))
        resp.status_code = status
        resp.headers["Location"] = f"/api/v1/captures/{result.capture.id}"
        return resp

    @bp.get("/captures")
    @authenticated
    def list_captures() -> Any:
        try:
            limit = int(request.args.get("limit", 50))
            before = request.args.get("before")
            before_i = None if before is None else int(before)
        except ValueError as exc:
            raise QueryInvalid("limit and before must be integers") from exc
        if not 1 <= limit <= MAX_LIST or (before_i is not None and before_i < 0):
            raise QueryInvalid(f"limit must be 1..{MAX_LIST} and before >= 0")
        page = services.captures.search(principal(), capture_query(request.args),
                                        limit=limit, before=before_i)
        return {"items": [capture_json(c) for c in page.items],
                "next": None if page.next is None else str(page.next)}

    @bp.get("/captures/<capture_id>")
    @authenticated
    def get_capture(capture_id: str) -> Any:
        capture = services.captures.get(principal(), capture_id)
        record_read(capture, "view")
        return capture_json(capture)

    @bp.patch("/captures/<capture_id>")
    @authenticated
    def annotate(capture_id: str) -> Any:
        body = json_body(MAX_TEXT_BODY)
        return capture_json(services.annotations.annotate(principal(), capture_id, body,
                                                          origin=origin()))

    @bp.get("/captures/<capture_id>/custody")
    @authenticated
    def custody(capture_id: str) -> Any:
        # Reading the timeline is not itself an event: it shows no capture data.
        capture = services.captures.get(principal(), capture_id)
        return {"capture_id": capture.id, "events": services.custody.timeline(capture)}

    @bp.get("/captures/<capture_id>/receipt")
    @authenticated
    def receipt(capture_id: str) -> Any:
        services.captures.get(principal(), capture_id)  # 404 unless it is the caller's
        return receipt_json(services.log.receipt(capture_id))

    @bp.get("/captures/<capture_id>/bundle")
    @authenticated
    def bundle(capture_id: str) -> Any:
        built = services.exporter.export(principal(), capture_id, origin=origin(),
                                         base_url=request.host_url)
        resp = Response(built.iter_and_close(), mimetype="application/zip", headers={
            "Content-Disposition": f'attachment; filename="{built.filename}"',
            "Cache-Control": "private, no-store"})
        resp.content_length = built.size
        return resp

    @bp.get("/captures/<capture_id>/certificate.pdf")
    @authenticated
    def certificate(capture_id: str) -> Any:
        capture = services.captures.get(principal(), capture_id)
        pdf = services.exporter.certificate(capture, base_url=request.host_url)
        record_read(capture, "certificate")
        return Response(pdf, mimetype="application/pdf", headers={
            "Content-Disposition": f'attachment; filename="fieldproof-certificate-'
                                   f'{capture.id}.pdf"',
            "Cache-Control": "private, no-store"})

    @bp.get("/captures/<capture_id>/continuity")
    @authenticated
    def continuity(capture_id: str) -> Any:
        capture = services.captures.get(principal(), capture_id)
        statement = services.continuity.of(capture)
        if statement is None:
            raise NotARecording("a photo has no timeline")
        return statement

    @bp.get("/captures/<capture_id>/original")
    @authenticated
    def original(capture_id: str) -> Any:
        capture = services.captures.get(principal(), capture_id)
        return original_response(
            services.store, capture,
            {"Content-Disposition": f'attachment; filename="{capture.media_sha256}"',
             "Cache-Control": "private, no-store"},
            lambda detail: record_read(capture, "download", detail))

    @bp.get("/captures/<capture_id>/derived/<variant>")
    @authenticated
    def derived(capture_id: str, variant: str) -> Any:
        capture = services.captures.get(principal(), capture_id)  # 404 unless the caller's
        d = services.deriver.derive_for(capture, variant)
        preview = d.variant == THUMBNAIL_VARIANT
        record_read(capture, "preview" if preview else "derive",
                    {"variant": d.variant, "sha256": d.sha256})
        resp = Response(d.data, mimetype=d.mime, headers={
            "X-FieldProof-Original-SHA256": d.original_sha256,
            "X-FieldProof-Derived-SHA256": d.sha256,
            "X-FieldProof-Derivation": d.variant,
            "ETag": f'"{d.sha256}"',
            "Repr-Digest": f"sha-256=:{b64_digest(d.sha256)}:",
            "Content-Disposition": f'{"inline" if preview else "attachment"}; '
                                   f'filename="{d.filename}"',
            # a list shows thumbnails again and again; nothing else is cached
            "Cache-Control": "private, max-age=3600" if preview else "private, no-store"})
        return resp

    def _form_upload() -> tuple[str, str, HashingSpool]:
        """manifest, signature and media as the parts of a multipart form."""
        media = request.files.get("media")  # parsing spools and hashes the media
        if media is None:
            raise MediaMissing("the 'media' file part is missing")
        spool = media.stream
        assert isinstance(spool, HashingSpool)
        manifest = _text_part("manifest", MAX_MANIFEST_PART, ManifestMissing)
        # Generous here; decode_signature refuses a long one as 422 signature_invalid.
        signature = _text_part("signature", MAX_SIGNATURE_PART, SignatureMissing)
        return manifest, signature, spool

    def _raw_upload() -> tuple[str, str, HashingSpool]:
        """The media as the body, the manifest and signature in headers: no
        multipart parsing, and every claim that can be refused before the
        body is read is refused before it is read."""
        encoded = request.headers.get(MANIFEST_HEADER, "")
        if len(encoded) > MAX_MANIFEST_HEADER:
            raise ManifestTooLarge(f"{MANIFEST_HEADER} is longer than {MAX_MANIFEST_HEADER} "
                                   "characters; send a multipart form instead")
        try:
            manifest = b64url_strict(encoded).decode("utf-8")
        except ValueError as exc:
            raise InvalidManifest(f"{MANIFEST_HEADER} is not base64url of UTF-8 JSON") from exc
        if not manifest:
            raise ManifestMissing(f"{MANIFEST_HEADER} is empty")
        signature = request.headers.get(SIGNATURE_HEADER, "")
        if not signature:
            raise SignatureMissing(f"the {SIGNATURE_HEADER} header is missing")
        length = request.content_length
        if length is None:
            raise LengthRequired("a raw upload needs a Content-Length (the media's size)")
        limit = request.max_content_length
        if limit is not None and length > limit:
            raise TooLarge(f"uploads are at most {limit} bytes")
        claim = services.ingest.precheck(principal(), manifest, signature)
        if length != claim.media_size:
            raise SizeMismatch(f"the manifest says {claim.media_size} bytes, the body "
                               f"{length}")
        # The server's own body stream, read to exactly ``length`` bytes (checked
        # just above): werkzeug's limiting wrapper would copy every block once more.
        return manifest, signature, spool_body(request.input_stream, length)

    def _text_part(name: str, limit: int, missing: type[FieldProofError]) -> str:
        if name in request.form:
            value = request.form[name]
        elif name in request.files:
            value = request.files[name].stream.read(limit + 1).decode("utf-8", "replace")
        else:
            raise missing(f"the '{name}' part is missing")
        if len(value) > limit:
            raise TooLarge(f"the '{name}' part is larger than {limit} bytes")
        return value

    return bp


CAPTURE_KINDS = ("photo", "audio", "video", "screen", "import", "web")
CAPTURE_STATUSES = ("stored", "anchored")


def capture_query(args: Mapping[str, str]) -> CaptureQuery:
    """``GET /captures?q=&kind=&status=&from=&to=&case=``, checked (400 query_invalid)."""
    # kind, status, from and to, when present, must be valid: an empty one is not "any"
    kind = args.get("kind")
    if kind is not None and kind not in CAPTURE_KINDS:
        raise QueryInvalid(f"kind must be one of {', '.join(CAPTURE_KINDS)}")
    status = args.get("status")
    if status is not None and status not in CAPTURE_STATUSES:
        raise QueryInvalid(f"status must be one of {', '.join(CAPTURE_STATUSES)}")
    words = args.get("q") or None
    if words is not None and len(words) > 200:
        raise QueryInvalid("q may have at most 200 characters")
    case_id = args.get("case") or None
    if case_id is not None and len(case_id) > 36:
        raise QueryInvalid("case is a case id")
    times = {}
    for name in ("from", "to"):
        value = args.get(name)
        if value is not None:
            try:
                at = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                at = None
            if at is None or at.tzinfo is None:
                raise QueryInvalid(f"{name} must be an RFC 3339 time with a time zone "
                                   "(2025-03-04T00:00:00Z)")
            times[name] = at
    return CaptureQuery(text=words, kind=kind, with_status=status,
                        received_from=times.get("from"), received_to=times.get("to"),
                        case_id=case_id)


