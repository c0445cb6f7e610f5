"""Share links, the public side: what someone with a link and no account may read.

``/api/v1/s/<token>...``; an unknown, revoked or expired token answers 404
``share_not_found``. Every read is a custody event of the capture read, whose
actor is the link (cases/shares.py), committed before the answer (a read that
cannot be recorded is refused, 503 custody_unavailable, as for the owner).
Rate-limited per client address like the public verification endpoints.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request
from flask.blueprints import BlueprintSetupState

from fieldproof.capture.records import CaptureRecord
from fieldproof.cases.shares import ShareRecord
from fieldproof.errors import CustodyUnavailable, DownloadNotAllowed, NotFound, map_storage_error
from fieldproof.evidence.derived import THUMBNAIL_VARIANT
from fieldproof.ratelimit import public_limit
from fieldproof.services import Services
from fieldproof.web.cases_api import origin, pdf_response, zip_response
from fieldproof.web.originals import original_response
from fieldproof.web.serialize import shared_json

LIMITER_KEY = "fieldproof.share_limiter"


def make_shares_blueprint(services: Services) -> Blueprint:
    bp = Blueprint("shares_v1", __name__)
    limiter = public_limit(services.settings.public_burst, services.settings.public_per_second,
                           services.settings.message_queue, scope="shares",
                           message="too many share link requests from this address")

    @bp.record_once
    def _expose(state: BlueprintSetupState) -> None:
        state.app.extensions[LIMITER_KEY] = limiter  # tests tune or inspect it

    @bp.after_request
    def _headers(resp: Response) -> Response:
        # The token is in the URL: keep it out of caches, referrers and indexes.
        resp.headers["Cache-Control"] = "no-store"
        resp.headers["Referrer-Policy"] = "no-referrer"
        resp.headers["X-Robots-Tag"] = "noindex"
        return resp

    def opened(token: str) -> ShareRecord:
        limiter.take(request.remote_addr or "unknown")
        return services.shares.resolve(token)

    def record(share: ShareRecord, capture: CaptureRecord, event: str,
               detail: dict[str, Any] | None = None) -> None:
        """The link's read of ``capture``, committed before it is served."""
        if request.method == "HEAD":
            return
        try:
            services.custody.record(share.actor, capture, event, origin=origin(),
                                    detail=detail)
        except Exception as exc:
            cause = map_storage_error(exc)
            if cause is None:
                raise
            raise CustodyUnavailable(
                "this read cannot be entered in the chain of custody right now "
                f"({cause.code}), so it is not served; try again later",
                cause=cause.code, retry_after=30) from exc

    @bp.get("/s/<token>")
    def shared(token: str) -> Any:
        share = opened(token)
        if share.kind == "case":
            case = services.shares.case(share)
            for item in case.items:
                record(share, item.capture, "view")
            return shared_json(share, case=case)
        capture = services.shares.capture(share, share.target_id or "")
        record(share, capture, "view")
        return shared_json(share, capture=capture)

    @bp.get("/s/<token>/captures/<capture_id>/thumbnail")
    def thumbnail(token: str, capture_id: str) -> Any:
        share = opened(token)
        capture = services.shares.capture(share, capture_id)
        d = services.deriver.derive_for(capture, THUMBNAIL_VARIANT)
        record(share, capture, "preview", {"variant": d.variant, "sha256": d.sha256})
        return Response(d.data, mimetype=d.mime, headers={
            "X-FieldProof-Original-SHA256": d.original_sha256,
            "X-FieldProof-Derived-SHA256": d.sha256, "ETag": f'"{d.sha256}"',
            "Content-Disposition": f'inline; filename="{d.filename}"'})

    @bp.get("/s/<token>/captures/<capture_id>/preview")
    def preview(token: str, capture_id: str) -> Any:
        """The original bytes, inline, for <img>, <audio> and <video>; one Range."""
        share = opened(token)
        capture = services.shares.capture(share, capture_id)
        return original_response(
            services.store, capture,
            {"Content-Disposition": "inline", "X-Content-Type-Options": "nosniff",
             # the bytes are the capturer's: never let a browser run them here
             "Content-Security-Policy": "default-src 'none'; sandbox"},
            lambda detail: record(share, capture, "download", detail))

    @bp.get("/s/<token>/captures/<capture_id>/certificate.pdf")
    def certificate(token: str, capture_id: str) -> Any:
        share = opened(token)
        capture = services.shares.capture(share, capture_id)
        pdf = services.exporter.certificate(capture, base_url=request.host_url)
        record(share, capture, "certificate")
        return pdf_response(pdf, f"fieldproof-certificate-{capture.id}.pdf", inline=True)

    @bp.get("/s/<token>/captures/<capture_id>/bundle")
    def bundle(token: str, capture_id: str) -> Any:
        share = opened(token)
        capture = services.shares.capture(share, capture_id)
        if not share.allow_download:
            raise DownloadNotAllowed("this link shows the evidence but does not allow "
                                     "downloading its bundle")
        return zip_response(services.exporter.export(
            share.owner, capture.id, origin=origin(), base_url=request.host_url,
            actor=share.actor))

    @bp.get("/s/<token>/evidence-list.pdf")
    def evidence_list(token: str) -> Any:
        share = opened(token)
        if share.kind != "case":
            raise NotFound("this link shares one capture, which has no evidence list")
        case = services.shares.case(share)
        pdf = services.case_exporter.evidence_list(case)
        for item in case.items:
            record(share, item.capture, "view", {"document": "evidence-list"})
        return pdf_response(pdf, f"fieldproof-evidence-list-{case.id}.pdf", inline=True)

    return bp

