"""OpenAPI for transcripts and a recording's completeness (merged by web/openapi.py);
shared/PROTOCOL.md "Transcripts" and "Completeness"."""

from __future__ import annotations

from typing import Any

from fieldproof.web.openapi_parts import json_ref as _json
from fieldproof.web.openapi_parts import op as _op

_CAPTURE = [{"name": "capture_id", "in": "path", "required": True,
             "schema": {"type": "string"}}]
_TIME_OR_NULL = {"type": ["string", "null"], "description": "RFC 3339 UTC, or null"}


def paths() -> dict[str, Any]:
    return {
        "/captures/{capture_id}/transcript": {
            "get": _op("The recording's transcript: the newest job, the latest version "
                       "(with its document) and every version",
                       {"200": _json("TranscriptState")}, parameters=_CAPTURE),
            "post": _op("Queue a machine transcription (503 asr_unavailable without a "
                        "speech model)", {"202": _json("TranscriptJob", "Queued")},
                        parameters=_CAPTURE,
                        requestBody={"required": False, "content": {"application/json": {
                            "schema": {"type": "object", "additionalProperties": False,
                                       "properties": {"language": {
                                           "type": "string", "maxLength": 16}}}}}}),
        },
        "/captures/{capture_id}/transcript/versions": {
            "post": _op("Save a version signed on one of the owner's devices",
                        {"201": _json("TranscriptVersion", "Stored, its log leaf queued")},
                        parameters=_CAPTURE,
                        requestBody={"required": True, "content": {"application/json": {
                            "schema": {"type": "object", "additionalProperties": False,
                                       "required": ["document", "signature"],
                                       "properties": {
                                           "document": {"type": "string",
                                                        "description": "the JCS text"},
                                           "signature": {"type": "string",
                                                         "description": "base64url r||s"}}}}}}),
        },
        "/captures/{capture_id}/continuity": {
            "get": _op("Is the recording continuous: its timeline, gaps and joins "
                       "(409 not_a_recording for a photo)", {"200": _json("Continuity")},
                       parameters=_CAPTURE)},
        "/captures/{capture_id}/transcript.pdf": {
            "get": _op("The 文字稿 of the newest version, signed",
                       {"200": {"description": "PDF", "content": {"application/pdf": {}}}},
                       parameters=_CAPTURE)},
    }


def schemas() -> dict[str, Any]:
    version = {
        "type": "object",
        "required": ["version", "sha256", "origin", "key_id", "created_at", "leaf_index"],
        "properties": {
            "version": {"type": "integer", "minimum": 1},
            "sha256": {"type": "string"}, "origin": {"enum": ["machine", "human"]},
            "key_id": {"type": "string"}, "created_at": {"type": "string"},
            "leaf_index": {"type": ["integer", "null"]},
            "document": {"type": "string"}, "signature": {"type": "string"}}}
    gap = {"type": "object", "required": ["after_seq", "from", "to", "ms", "cause"],
           "properties": {"after_seq": {"type": "integer"}, "from": {"type": "string"},
                          "to": {"type": "string"}, "ms": {"type": "integer"},
                          "cause": {"enum": ["paused", "network"]}}}
    return {
        "Continuity": {
            "type": "object",
            "required": ["streamed", "device_start", "device_end", "wall_ms", "recorded_ms",
                         "chunks", "interval_ms", "gaps", "paused_ms", "clock_backwards",
                         "ended", "continues", "continued_by", "continuous"],
            "properties": {
                "streamed": {"type": "boolean"}, "device_start": {"type": "string"},
                "device_end": {"type": "string"}, "wall_ms": {"type": "integer"},
                "recorded_ms": {"type": ["integer", "null"]}, "chunks": {"type": "integer"},
                "interval_ms": {"type": "integer"}, "gaps": {"type": "array", "items": gap},
                "paused_ms": {"type": "integer"}, "clock_backwards": {"type": "integer"},
                "ended": {"enum": ["stopped", "interrupted"]},
                "continues": {"type": ["string", "null"]},
                "continued_by": {"type": "array", "items": {"type": "string"}},
                "continuous": {"type": ["boolean", "null"]}}},
        "TranscriptVersion": version,
        "TranscriptJob": {
            "type": "object", "required": ["id", "state", "created_at"],
            "properties": {
                "id": {"type": "string"},
                "state": {"enum": ["queued", "running", "done", "failed"]},
                "code": {"type": ["string", "null"]},
                "language": {"type": ["string", "null"]},
                "created_at": {"type": "string"}, "finished_at": _TIME_OR_NULL,
                "version": {"type": ["integer", "null"]}}},
        "TranscriptState": {
            "type": "object", "required": ["job", "latest", "versions"],
            "properties": {
                "job": {"oneOf": [{"$ref": "#/components/schemas/TranscriptJob"},
                                  {"type": "null"}]},
                "latest": {"oneOf": [{"$ref": "#/components/schemas/TranscriptVersion"},
                                     {"type": "null"}]},
                "versions": {"type": "array",
                             "items": {"$ref": "#/components/schemas/TranscriptVersion"}}}},
    }
