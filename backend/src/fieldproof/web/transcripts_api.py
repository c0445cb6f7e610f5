"""Transcripts: the machine job, the signed versions and the 文字稿 PDF of a
recording. Parse, call one service, serialize; the work is in transcripts/."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request

from fieldproof.errors import TranscriptInvalid
from fieldproof.services import Services
from fieldproof.web.auth import MAX_TEXT_BODY, authenticator, json_body, principal

MAX_TRANSCRIPT_BODY = 3 * 1024 * 1024  # a 2 MiB document, JSON-escaped, and its signature


def make_transcripts_blueprint(services: Services) -> Blueprint:
    bp = Blueprint("transcripts_v1", __name__)
    authenticated = authenticator(services)
    transcripts = services.transcripts

    @bp.get("/captures/<capture_id>/transcript")
    @authenticated
    def get_transcript(capture_id: str) -> Any:
        return transcripts.state(principal(), capture_id)

    @bp.post("/captures/<capture_id>/transcript")
    @authenticated
    def start_transcript(capture_id: str) -> Any:
        body = json_body(MAX_TEXT_BODY) if request.content_length else {}
        unknown = sorted(set(body) - {"language"})
        if unknown:
            raise TranscriptInvalid(f"unknown fields {', '.join(unknown)}")
        return transcripts.request(principal(), capture_id, body.get("language")), 202

    @bp.post("/captures/<capture_id>/transcript/versions")
    @authenticated
    def add_transcript_version(capture_id: str) -> Any:
        body = json_body(MAX_TRANSCRIPT_BODY)
        unknown = sorted(set(body) - {"document", "signature"})
        if unknown:
            raise TranscriptInvalid(f"unknown fields {', '.join(unknown)}")
        stored = transcripts.add_human(principal(), capture_id, body.get("document"),
                                       body.get("signature"))
        return stored.full(), 201

    @bp.get("/captures/<capture_id>/transcript.pdf")
    @authenticated
    def transcript_pdf(capture_id: str) -> Any:
        capture = services.captures.get(principal(), capture_id)
        pdf = services.exporter.transcript_pdf(capture)
        return Response(pdf, mimetype="application/pdf", headers={
            "Content-Disposition": f'attachment; filename="fieldproof-transcript-'
                                   f'{capture.id}.pdf"',
            "Cache-Control": "private, no-store"})

    return bp
