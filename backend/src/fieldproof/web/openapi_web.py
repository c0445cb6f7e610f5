"""OpenAPI for web captures (merged by web/openapi.py); shared/PROTOCOL.md "Web captures"."""

from __future__ import annotations

from typing import Any

from fieldproof.web.openapi_parts import json_ref as _json
from fieldproof.web.openapi_parts import op as _op

_TASK = [{"name": "task_id", "in": "path", "required": True, "schema": {"type": "string"}}]
_TIME_OR_NULL = {"type": ["string", "null"], "description": "RFC 3339 UTC, or null"}


def paths() -> dict[str, Any]:
    return {
        "/web-captures": {
            "post": _op("Ask the server to record a URL in a clean browser (a task)",
                        {"201": _json("WebCapture", "The task, scheduled")},
                        requestBody={"required": True, "content": {"application/json": {
                            "schema": {"$ref": "#/components/schemas/WebCaptureRequest"}}}}),
            "get": _op("The caller's web capture tasks, newest first",
                       {"200": {"description": "OK", "content": {"application/json": {
                           "schema": {"type": "object", "properties": {"items": {
                               "type": "array",
                               "items": {"$ref": "#/components/schemas/WebCapture"}}}}}}}}),
        },
        "/web-captures/{task_id}": {
            "get": _op("One web capture task (with its files once recorded)",
                       {"200": _json("WebCapture")}, parameters=_TASK)},
        "/web-captures/{task_id}/confirm": {
            "post": _op("Confirm a task awaiting confirmation (custody event `confirm`)",
                        {"200": _json("WebCapture")}, parameters=_TASK)},
        "/web-captures/{task_id}/abandon": {
            "post": _op("Abandon a task awaiting confirmation (custody event `abandon`); "
                        "the anchored capture stays", {"200": _json("WebCapture")},
                        parameters=_TASK)},
        "/web-captures/{task_id}/frame": {
            "get": _op("The newest frame of the window while recording (not evidence)",
                       {"200": {"description": "JPEG", "content": {"image/jpeg": {}}}},
                       parameters=_TASK)},
        "/web-captures/{task_id}/files/{name}": {
            "get": _op("One kept file of the recording (custody event `view`)",
                       {"200": {"description": "The file's bytes",
                                "content": {"application/octet-stream": {}}}},
                       parameters=[*_TASK, {"name": "name", "in": "path", "required": True,
                                            "schema": {"type": "string", "enum": [
                                                "environment.json", "screenshot-start.png",
                                                "screenshot-end.png", "page.mhtml",
                                                "traffic.warc.gz", "stream.ts"]}}])},
    }


def schemas() -> dict[str, Any]:
    return {
        "WebCaptureRequest": {
            "type": "object", "additionalProperties": False, "required": ["url"],
            "properties": {
                "url": {"type": "string", "minLength": 1, "maxLength": 2048},
                "mode": {"type": "string", "enum": ["page", "video", "live"]},
                "duration_s": {"type": "integer", "minimum": 5},
                "title": {"type": "string", "maxLength": 200},
                "applicant": {"type": "string", "maxLength": 200},
                "timezone": {"type": "string", "maxLength": 64,
                             "description": "the owner's IANA zone, for showing times"},
                "start_at": _TIME_OR_NULL, "end_at": _TIME_OR_NULL}},
        "WebCapture": {
            "type": "object",
            "required": ["id", "url", "mode", "status", "created_at", "capture_id"],
            "properties": {
                "id": {"type": "string"}, "url": {"type": "string"},
                "mode": {"type": "string", "enum": ["page", "video", "live"]},
                "title": {"type": "string"}, "applicant": {"type": "string"},
                "duration_s": {"type": "integer"}, "timezone": {"type": "string"},
                "start_at": _TIME_OR_NULL, "end_at": _TIME_OR_NULL,
                "status": {"type": "string", "enum": [
                    "scheduled", "recording", "awaiting_confirmation", "confirmed",
                    "abandoned", "failed"]},
                "reason": {"type": ["object", "null"], "properties": {
                    "code": {"type": "string"}, "detail": {"type": "string"}}},
                "created_at": {"type": "string"}, "recorded_at": _TIME_OR_NULL,
                "confirm_by": _TIME_OR_NULL, "decided_at": _TIME_OR_NULL,
                "decided_by": {"type": ["string", "null"], "enum": ["user", "auto", None]},
                "capture_id": {"type": ["string", "null"]},
                "files": {"type": "array", "items": {"type": "object", "properties": {
                    "name": {"type": "string"}, "sha256": {"type": "string"},
                    "size": {"type": "integer"}, "mime": {"type": "string"}}}}}},
    }
