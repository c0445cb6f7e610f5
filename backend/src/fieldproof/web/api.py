"""HTTP API v1: parse, call one service, serialize. Nothing else lives here."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from functools import wraps
from typing import Any, TypeVar

from flask import Blueprint, Response, g, jsonify, request, stream_with_context
from sqlalchemy import text

from fieldproof.accounts.accounts import Principal
from fieldproof.capture.records import CaptureRecord
from fieldproof.capture.spool import HashingSpool
from fieldproof.core.manifest import iso
from fieldproof.errors import (
    CustodyUnavailable,
    FieldProofError,
    JsonInvalid,
    ManifestMissing,
    MediaMissing,
    MultipartRequired,
    QueryInvalid,
    SignatureMissing,
    TokenMissing,
    TooLarge,
    map_storage_error,
)
from fieldproof.log.custody import Origin
from fieldproof.services import Services
from fieldproof.web.openapi import spec
from fieldproof.web.problems import problem_response
from fieldproof.web.serialize import capture_json, receipt_json

F = TypeVar("F", bound=Callable[..., Any])
MAX_MANIFEST_PART = 16 * 1024
MAX_SIGNATURE_PART = 4 * 1024
MAX_JSON_BODY = 64 * 1024
MAX_LIST = 200


def make_blueprint(services: Services) -> Blueprint:
    bp = Blueprint("api_v1", __name__)

    def authenticated(fn: F) -> F:
        @wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            header = request.headers.get("Authorization", "")
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token:
                raise TokenMissing("send 'Authorization: Bearer <token>'")
            g.principal = services.accounts.principal(token.strip())
            return fn(*args, **kwargs)
        return wrapper  # type: ignore[return-value]

    def principal() -> Principal:
        return g.principal  # type: ignore[no-any-return]

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

    def json_body() -> dict[str, Any]:
        # JSON bodies are small; only the media upload may use the big limit.
        request.max_content_length = MAX_JSON_BODY
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise JsonInvalid("expected a JSON object body")
        return body

    @bp.get("/health")
    def health() -> Any:
        with services.db.session() as s:
            s.execute(text("SELECT 1"))
        return {"status": "ok", "database": services.db.dialect, "store": services.store.name}

    @bp.get("/openapi.json")
    def openapi() -> Any:
        return jsonify(spec())

    @bp.post("/auth/login")
    def login() -> Any:
        body = json_body()
        user_id = services.accounts.check_password(str(body.get("email", "")),
                                                   str(body.get("password", "")),
                                                   source=request.remote_addr or "unknown")
        issued = services.accounts.issue(user_id, label=str(body.get("label", "login")))
        return {"token": issued.token, "expires_at": iso(issued.expires_at)}, 201

    @bp.post("/auth/renew")
    @authenticated
    def renew() -> Any:
        issued = services.accounts.renew(principal())
        return {"token": issued.token, "expires_at": iso(issued.expires_at)}, 201

    @bp.post("/auth/logout")
    @authenticated
    def logout() -> Any:
        services.accounts.revoke_token(request.headers["Authorization"].split(" ", 1)[1].strip())
        return "", 204

    @bp.get("/me")
    @authenticated
    def me() -> Any:
        p = principal()
        return {"user_id": p.user_id, "email": p.email, "token_issued_at": iso(p.issued_at),
                "token_expires_at": iso(p.expires_at)}

    @bp.post("/devices")
    @authenticated
    def enroll() -> Any:
        body = json_body()
        device = services.accounts.register_device(principal().user_id, body.get("jwk"),
                                                   str(body.get("label", "")))
        return device, 201

    @bp.get("/devices")
    @authenticated
    def devices() -> Any:
        return {"items": services.accounts.devices(principal().user_id)}

    @bp.delete("/devices/<key_id>")
    @authenticated
    def revoke_device(key_id: str) -> Any:
        return services.accounts.revoke_device(principal().user_id, key_id)

    @bp.post("/nonces")
    @authenticated
    def nonce() -> Any:
        return services.ingest.issue_nonce(principal()), 201

    @bp.post("/captures")
    @authenticated
    def upload() -> Any:
        if not (request.mimetype or "").startswith("multipart/form-data"):
            raise MultipartRequired("send multipart/form-data with manifest, signature and media")
        files = request.files  # parsing spools and hashes the media
        media = files.get("media")
        if media is None:
            raise MediaMissing("the 'media' file part is missing")
        spool = media.stream
        assert isinstance(spool, HashingSpool)
        manifest = _text_part("manifest", MAX_MANIFEST_PART, ManifestMissing)
        # Generous here; decode_signature refuses a long one as 422 signature_invalid.
        signature = _text_part("signature", MAX_SIGNATURE_PART, SignatureMissing)
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
        page = services.captures.page(principal(), limit=limit, before=before_i)
        return {"items": [capture_json(c) for c in page.items],
                "next": None if page.next is None else str(page.next)}

    @bp.get("/captures/<capture_id>")
    @authenticated
    def get_capture(capture_id: str) -> Any:
        capture = services.captures.get(principal(), capture_id)
        record_read(capture, "view")
        return capture_json(capture)

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

    @bp.get("/captures/<capture_id>/original")
    @authenticated
    def original(capture_id: str) -> Any:
        capture = services.captures.get(principal(), capture_id)
        size = capture.media_size
        start, length, status = 0, size, 200
        headers = {"Accept-Ranges": "bytes", "ETag": f'"{capture.media_sha256}"',
                   "Repr-Digest": f"sha-256=:{_b64(capture.media_sha256)}:",
                   "Content-Disposition": f'attachment; filename="{capture.media_sha256}"',
                   "Cache-Control": "private, no-store"}
        rng = request.range
        if rng is not None and request.headers.get("Range"):
            bounds = rng.range_for_length(size) if rng.units == "bytes" else None
            if bounds is None or len(rng.ranges) != 1:
                return problem_response(
                    {"type": "https://fieldproof.org/problems/range_not_satisfiable",
                     "title": "Range not satisfiable", "status": 416,
                     "code": "range_not_satisfiable",
                     "detail": f"the object has {size} bytes; one byte range is supported"},
                    {"Content-Range": f"bytes */{size}"})
            start, stop = bounds
            length, status = stop - start, 206
            headers["Content-Range"] = f"bytes {start}-{stop - 1}/{size}"
        # Open the object first: a read the store cannot serve is refused
        # (problem+json) and, never having happened, is not in the custody.
        body = _opened(services.store.iter_range(capture.object_key, start, length))
        record_read(capture, "download", {"range": [start, start + length], "of": size})
        resp = Response(stream_with_context(body), status=status,
                        mimetype=capture.media_mime.split(";")[0], headers=headers)
        resp.content_length = length
        return resp

    @bp.get("/captures/<capture_id>/derived/<variant>")
    @authenticated
    def derived(capture_id: str, variant: str) -> Any:
        capture = services.captures.get(principal(), capture_id)  # 404 unless the caller's
        d = services.deriver.derive_for(capture, variant)
        record_read(capture, "derive", {"variant": d.variant, "sha256": d.sha256})
        resp = Response(d.data, mimetype=d.mime, headers={
            "X-FieldProof-Original-SHA256": d.original_sha256,
            "X-FieldProof-Derived-SHA256": d.sha256,
            "X-FieldProof-Derivation": d.variant,
            "ETag": f'"{d.sha256}"',
            "Repr-Digest": f"sha-256=:{_b64(d.sha256)}:",
            "Content-Disposition": f'attachment; filename="{d.filename}"',
            "Cache-Control": "private, no-store"})
        return resp

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


def _opened(blocks: Iterator[bytes]) -> Iterator[bytes]:
    """Fetch the first block now, so that a failing store fails before the answer starts."""
    it = iter(blocks)
    try:
        first = next(it)
    except StopIteration:
        return iter(())
    return itertools.chain((first,), it)


def _b64(hex_digest: str) -> str:
    import base64

    return base64.b64encode(bytes.fromhex(hex_digest)).decode()
