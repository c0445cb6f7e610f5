"""Web captures: the owner's tasks (create, list, get, confirm, abandon) and their
kept files. Parse, call one service, serialize; recording happens in webcap/."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request, stream_with_context

from fieldproof.log.custody import Origin
from fieldproof.services import Services
from fieldproof.web.auth import MAX_TEXT_BODY, authenticator, json_body, principal
from fieldproof.web.originals import b64_digest, opened


def _origin() -> Origin:
    return Origin(ip=request.remote_addr, user_agent=request.user_agent.string or None)


def make_webcaptures_blueprint(services: Services) -> Blueprint:
    bp = Blueprint("webcaptures_v1", __name__)
    authenticated = authenticator(services)
    tasks = services.web_tasks

    @bp.post("/web-captures")
    @authenticated
    def create_web_capture() -> Any:
        return tasks.create(principal(), json_body(MAX_TEXT_BODY)), 201

    @bp.get("/web-captures")
    @authenticated
    def list_web_captures() -> Any:
        return {"items": tasks.list(principal())}

    @bp.get("/web-captures/<task_id>")
    @authenticated
    def get_web_capture(task_id: str) -> Any:
        return tasks.get(principal(), task_id)

    @bp.post("/web-captures/<task_id>/confirm")
    @authenticated
    def confirm_web_capture(task_id: str) -> Any:
        return tasks.decide(principal(), task_id, "confirm", origin=_origin())

    @bp.post("/web-captures/<task_id>/abandon")
    @authenticated
    def abandon_web_capture(task_id: str) -> Any:
        return tasks.decide(principal(), task_id, "abandon", origin=_origin())

    @bp.get("/web-captures/<task_id>/frame")
    @authenticated
    def web_capture_frame(task_id: str) -> Any:
        return Response(tasks.frame(principal(), task_id), mimetype="image/jpeg",
                        headers={"Cache-Control": "private, no-store"})

    @bp.get("/web-captures/<task_id>/files/<name>")
    @authenticated
    def web_capture_file(task_id: str, name: str) -> Any:
        task, row = tasks.file(principal(), task_id, name)
        body = opened(services.store.iter_range(row.object_key))
        capture = services.captures.get(principal(), task["capture_id"])
        services.custody.record(principal(), capture, "view", origin=_origin(),
                                detail={"file": name})
        resp = Response(stream_with_context(body), mimetype=row.mime, headers={
            "Cache-Control": "private, no-store", "ETag": f'"{row.sha256}"',
            "Repr-Digest": f"sha-256=:{b64_digest(row.sha256)}:",
            "X-Content-Type-Options": "nosniff",
            "Content-Disposition": f'{"inline" if row.mime.startswith("image/") else "attachment"}'
                                   f'; filename="{row.name}"'})
        resp.content_length = row.size
        return resp

    return bp
