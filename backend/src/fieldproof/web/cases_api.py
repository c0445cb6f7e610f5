"""Cases, their evidence lists and exports, and the owner's share links: parse, call
one service, serialize. The public side of a share link is web/shares_api.py."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request

from fieldproof.cases.shares import Kind
from fieldproof.evidence.export import Bundle
from fieldproof.log.custody import Origin
from fieldproof.services import Services
from fieldproof.web.auth import MAX_TEXT_BODY, authenticator, json_body, principal
from fieldproof.web.serialize import case_item_json, case_json, share_json


def origin() -> Origin:
    return Origin(ip=request.remote_addr, user_agent=request.user_agent.string or None)


def zip_response(built: Bundle) -> Response:
    resp = Response(built.iter_and_close(), mimetype="application/zip", headers={
        "Content-Disposition": f'attachment; filename="{built.filename}"',
        "Cache-Control": "private, no-store"})
    resp.content_length = built.size
    return resp


def pdf_response(pdf: bytes, filename: str, *, inline: bool = False) -> Response:
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'{"inline" if inline else "attachment"}; filename="{filename}"',
        "Cache-Control": "private, no-store"})


def make_cases_blueprint(services: Services) -> Blueprint:
    bp = Blueprint("cases_v1", __name__)
    authenticated = authenticator(services)

    # -- cases -------------------------------------------------------------
    @bp.post("/cases")
    @authenticated
    def create_case() -> Any:
        return case_json(services.cases.create(principal(), json_body(MAX_TEXT_BODY))), 201

    @bp.get("/cases")
    @authenticated
    def list_cases() -> Any:
        return {"items": [case_json(c, items=False) for c in services.cases.mine(principal())]}

    @bp.get("/cases/<case_id>")
    @authenticated
    def get_case(case_id: str) -> Any:
        return case_json(services.cases.get(principal(), case_id))

    @bp.patch("/cases/<case_id>")
    @authenticated
    def update_case(case_id: str) -> Any:
        return case_json(services.cases.update(principal(), case_id, json_body(MAX_TEXT_BODY)))

    @bp.delete("/cases/<case_id>")
    @authenticated
    def delete_case(case_id: str) -> Any:
        services.cases.delete(principal(), case_id)
        return "", 204

    # -- items -------------------------------------------------------------
    @bp.post("/cases/<case_id>/items")
    @authenticated
    def add_item(case_id: str) -> Any:
        return case_item_json(services.cases.add_item(principal(), case_id, json_body())), 201

    @bp.patch("/cases/<case_id>/items/<capture_id>")
    @authenticated
    def update_item(case_id: str, capture_id: str) -> Any:
        return case_item_json(services.cases.update_item(principal(), case_id, capture_id,
                                                         json_body()))

    @bp.delete("/cases/<case_id>/items/<capture_id>")
    @authenticated
    def remove_item(case_id: str, capture_id: str) -> Any:
        services.cases.remove_item(principal(), case_id, capture_id)
        return "", 204

    # -- the evidence list and the export ----------------------------------
    @bp.get("/cases/<case_id>/evidence-list.pdf")
    @authenticated
    def evidence_list(case_id: str) -> Any:
        case = services.cases.get(principal(), case_id)
        return pdf_response(services.case_exporter.evidence_list(case),
                            f"fieldproof-evidence-list-{case.id}.pdf")

    @bp.get("/cases/<case_id>/export")
    @authenticated
    def export_case(case_id: str) -> Any:
        return zip_response(services.case_exporter.export(
            principal(), case_id, origin=origin(), base_url=request.host_url))

    # -- share links -------------------------------------------------------
    def new_share(kind: Kind, target_id: str) -> Any:
        # Every field has a default: no body is an empty one.
        body = json_body() if request.content_length or \
            "Transfer-Encoding" in request.headers else {}
        made = services.shares.create(principal(), kind, target_id, body)
        base = services.settings.public_url or request.host_url
        return share_json(made.share, token=made.token, base_url=base), 201

    @bp.post("/cases/<case_id>/shares")
    @authenticated
    def share_case(case_id: str) -> Any:
        return new_share("case", case_id)

    @bp.post("/captures/<capture_id>/shares")
    @authenticated
    def share_capture(capture_id: str) -> Any:
        return new_share("capture", capture_id)

    @bp.get("/shares")
    @authenticated
    def list_shares() -> Any:
        return {"items": [share_json(s) for s in services.shares.mine(principal())]}

    @bp.delete("/shares/<share_id>")
    @authenticated
    def revoke_share(share_id: str) -> Any:
        services.shares.revoke(principal(), share_id)
        return "", 204

    return bp
