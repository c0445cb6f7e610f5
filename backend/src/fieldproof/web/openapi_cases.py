"""OpenAPI for annotations, capture search, cases and shares (merged by web/openapi.py).

Request schemas are as strict as the server: a request they refuse is refused.
"""

from __future__ import annotations

from typing import Any

from fieldproof.web.openapi_parts import json_ref as _json
from fieldproof.web.openapi_parts import op as _op


def _body(ref: str, *, required: bool = True) -> dict[str, Any]:
    return {"required": required, "content": {"application/json": {
        "schema": {"$ref": f"#/components/schemas/{ref}"}}}}


def _path(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


_NO_CONTENT = {"description": "Done"}
_STR = {"type": "string"}
_TIME = {"type": "string", "description": "RFC 3339 UTC"}
_TIME_OR_NULL = {"type": ["string", "null"], "description": "RFC 3339 UTC, or null"}
_CASE = [_path("case_id")]
_ITEM = [_path("case_id"), _path("capture_id")]
_CAPTURE = [_path("capture_id")]
_TOKEN = [_path("token")]
_TOKEN_CAPTURE = [_path("token"), _path("capture_id")]

# GET /captures: search and filters (besides limit and before).
CAPTURE_FILTERS: list[dict[str, Any]] = [
    {"name": "q", "in": "query", "schema": {"type": "string", "maxLength": 200},
     "description": "in title, note, tags and place names; case-insensitive substring"},
    {"name": "kind", "in": "query", "schema": {
        "type": "string", "enum": ["photo", "audio", "video", "screen", "import", "web"]}},
    {"name": "status", "in": "query", "schema": {"type": "string",
                                                  "enum": ["stored", "anchored"]}},
    {"name": "from", "in": "query", "schema": {"type": "string", "format": "date-time"},
     "description": "received at or after (RFC 3339)"},
    {"name": "to", "in": "query", "schema": {"type": "string", "format": "date-time"},
     "description": "received at or before (RFC 3339)"},
    {"name": "case", "in": "query", "schema": {"type": "string", "maxLength": 36},
     "description": "only the items of this case (404 case_not_found if not yours)"},
]

# Members the Capture schema gains.
CAPTURE_WORDS: dict[str, Any] = {
    "title": {"type": "string"}, "note": {"type": "string"},
    "tags": {"type": "array", "items": {"type": "string"}},
    "cases": {"type": "array", "items": {"type": "object", "properties": {
        "id": _STR, "title": _STR, "position": {"type": "integer"}}}},
}


def annotate_op() -> dict[str, Any]:
    return _op("Set the capture's title, note or tags (not signed evidence); each change is a "
               "custody event `annotate` naming the fields changed",
               {"200": _json("Capture"),
                "400": {"description": "annotation_invalid or json_invalid"}},
               parameters=_CAPTURE, requestBody=_body("AnnotationInput"))


def paths() -> dict[str, Any]:
    return {
        "/cases": {
            "get": _op("The caller's cases, most recently changed first (without items)",
                       {"200": {"description": "{items: [case summary]}", "content": {
                           "application/json": {"schema": {
                               "type": "object", "required": ["items"], "properties": {
                                   "items": {"type": "array", "items": {
                                       "$ref": "#/components/schemas/CaseSummary"}}}}}}}}),
            "post": _op("Make a case", {"201": _json("Case", "Made"),
                                        "400": {"description": "case_invalid or json_invalid"}},
                        requestBody=_body("CaseInput")),
        },
        "/cases/{case_id}": {
            "get": _op("A case with its items in order, each with its capture",
                       {"200": _json("Case")}, parameters=_CASE),
            "patch": _op("Change a case's title, parties or note", {"200": _json("Case")},
                         parameters=_CASE, requestBody=_body("CasePatch")),
            "delete": _op("Delete the case (its captures stay; its share links stop working)",
                          {"204": _NO_CONTENT}, parameters=_CASE),
        },
        "/cases/{case_id}/items": {"post": _op(
            "Append one of the caller's captures to the case",
            {"201": _json("CaseItem", "Added"),
             "404": {"description": "case_not_found or capture_not_found"},
             "409": {"description": "item_exists"}},
            parameters=_CASE, requestBody=_body("ItemInput"))},
        "/cases/{case_id}/items/{capture_id}": {
            "patch": _op("Rename an item, state what it proves, or move it to `position` "
                         "(the items in between shift by one)",
                         {"200": _json("CaseItem"), "404": {"description": "item_not_found"}},
                         parameters=_ITEM, requestBody=_body("ItemPatch")),
            "delete": _op("Remove the item from the case (the capture stays; later items "
                          "move up)", {"204": _NO_CONTENT}, parameters=_ITEM),
        },
        "/cases/{case_id}/evidence-list.pdf": {"get": _op(
            "The evidence list (证据目录), zh-CN and English, one row per item; PAdES signed "
            "and time-stamped like the certificate",
            {"200": {"description": "The PDF", "content": {"application/pdf": {}}},
             "503": {"description": "certificate_timestamp_unavailable"}},
            parameters=_CASE)},
        "/cases/{case_id}/export": {"get": _op(
            "The case export (zip): case.json, evidence-list.pdf, items/NN-<slug>.zip (each an "
            "evidence bundle, each an `export` custody event), SHA256SUMS, VERIFY.md",
            {"200": {"description": "The zip", "content": {"application/zip": {}}},
             "409": {"description": "case_empty, or not_anchored (an item not yet anchored)"}},
            parameters=_CASE)},
        "/cases/{case_id}/shares": {"post": _op(
            "A read-only link to the case for someone without an account",
            {"201": _json("Share", "Made; `url` and `token` are shown only now")},
            parameters=_CASE, requestBody=_body("ShareInput", required=False))},
        "/captures/{capture_id}/shares": {"post": _op(
            "A read-only link to one capture for someone without an account",
            {"201": _json("Share", "Made; `url` and `token` are shown only now")},
            parameters=_CAPTURE, requestBody=_body("ShareInput", required=False))},
        "/shares": {"get": _op(
            "The caller's share links, newest first (revoked and expired ones too; no token)",
            {"200": {"description": "{items: [share]}", "content": {"application/json": {
                "schema": {"type": "object", "required": ["items"], "properties": {
                    "items": {"type": "array",
                              "items": {"$ref": "#/components/schemas/Share"}}}}}}}})},
        "/shares/{share_id}": {"delete": _op(
            "Revoke a share link: it answers 404 from now on",
            {"204": _NO_CONTENT, "404": {"description": "share_not_found"}},
            parameters=[_path("share_id")])},
        # -- public: the link's side (no account; rate-limited per address)
        "/s/{token}": {"get": _op(
            "What a share link shows: the case with its items, or the capture. Each capture "
            "shown is a custody event `view` whose actor is the link",
            {"200": _json("SharedView"),
             "404": {"description": "share_not_found (unknown, revoked or expired)"},
             "429": {"description": "rate_limited"}},
            auth=False, parameters=_TOKEN)},
        "/s/{token}/captures/{capture_id}/thumbnail": {"get": _op(
            "A JPEG thumbnail of a shared capture (custody event `preview`)",
            {"200": {"description": "The thumbnail", "content": {"image/jpeg": {}}},
             "409": {"description": "no_thumbnail"}, "429": {"description": "rate_limited"}},
            auth=False, parameters=_TOKEN_CAPTURE)},
        "/s/{token}/captures/{capture_id}/preview": {"get": _op(
            "The original bytes of a shared capture, inline (for img, audio, video); a single "
            "Range is supported (custody event `download`)",
            {"200": {"description": "The original"},
             "206": {"description": "The requested byte range"},
             "429": {"description": "rate_limited"}},
            auth=False, parameters=_TOKEN_CAPTURE)},
        "/s/{token}/captures/{capture_id}/certificate.pdf": {"get": _op(
            "The signed certificate of a shared capture (custody event `certificate`)",
            {"200": {"description": "The PDF", "content": {"application/pdf": {}}},
             "409": {"description": "not_anchored"}, "429": {"description": "rate_limited"}},
            auth=False, parameters=_TOKEN_CAPTURE)},
        "/s/{token}/captures/{capture_id}/bundle": {"get": _op(
            "The evidence bundle of a shared capture, if the link allows downloads (custody "
            "event `export`)",
            {"200": {"description": "The bundle", "content": {"application/zip": {}}},
             "403": {"description": "download_not_allowed"},
             "409": {"description": "not_anchored"}, "429": {"description": "rate_limited"}},
            auth=False, parameters=_TOKEN_CAPTURE)},
        "/s/{token}/evidence-list.pdf": {"get": _op(
            "The signed evidence list of a shared case (a custody event `view` per item)",
            {"200": {"description": "The PDF", "content": {"application/pdf": {}}},
             "429": {"description": "rate_limited"}},
            auth=False, parameters=_TOKEN)},
    }


_PARTY = {"type": "object", "required": ["name"], "additionalProperties": False,
          "properties": {"role": {"type": "string", "maxLength": 100},
                         "name": {"type": "string", "minLength": 1, "maxLength": 200}}}
_PARTIES = {"type": "array", "maxItems": 20, "items": _PARTY}


def schemas() -> dict[str, Any]:
    summary = {"id": _STR, "title": _STR,
               "parties": {"type": "array", "items": {"type": "object", "properties": {
                   "role": _STR, "name": _STR}}},
               "note": _STR, "created_at": _TIME, "updated_at": _TIME,
               "item_count": {"type": "integer"}}
    shared_capture = {"type": "object", "properties": {
        "id": _STR, "kind": _STR, "status": _STR,
        "media": {"type": "object", "properties": {"sha256": _STR, "size": {"type": "integer"},
                                                   "mime": _STR}},
        "received_at": _TIME,
        "manifest": {"type": "object", "description": "kind, captured times, geo and the "
                                                      "device's time zone of the signed manifest"},
        "place": {"type": ["object", "null"]}, "checks": {"type": "array"},
        "title": _STR, "note": _STR, "partial": {"type": "boolean"}}}
    return {
        "AnnotationInput": {"type": "object", "additionalProperties": False, "properties": {
            "title": {"type": "string", "maxLength": 200},
            "note": {"type": "string", "maxLength": 10000},
            "tags": {"type": "array", "maxItems": 20,
                     "items": {"type": "string", "maxLength": 40}}}},
        "CaseInput": {"type": "object", "required": ["title"], "additionalProperties": False,
                      "properties": {"title": {"type": "string", "minLength": 1,
                                               "maxLength": 200},
                                     "parties": _PARTIES,
                                     "note": {"type": "string", "maxLength": 10000}}},
        "CasePatch": {"type": "object", "additionalProperties": False,
                      "properties": {"title": {"type": "string", "minLength": 1,
                                               "maxLength": 200},
                                     "parties": _PARTIES,
                                     "note": {"type": "string", "maxLength": 10000}}},
        "ItemInput": {"type": "object", "required": ["capture_id"],
                      "additionalProperties": False,
                      "properties": {"capture_id": {"type": "string", "minLength": 1,
                                                    "maxLength": 36},
                                     "title": {"type": "string", "maxLength": 200},
                                     "purpose": {"type": "string", "maxLength": 2000}}},
        "ItemPatch": {"type": "object", "additionalProperties": False,
                      "properties": {"title": {"type": "string", "maxLength": 200},
                                     "purpose": {"type": "string", "maxLength": 2000},
                                     "position": {"type": "integer", "minimum": 1}}},
        "CaseSummary": {"type": "object", "properties": summary},
        "Case": {"type": "object", "properties": {
            **summary, "items": {"type": "array",
                                 "items": {"$ref": "#/components/schemas/CaseItem"}}}},
        "CaseItem": {"type": "object", "properties": {
            "position": {"type": "integer"}, "capture_id": _STR, "title": _STR,
            "purpose": _STR, "added_at": _TIME,
            "capture": {"$ref": "#/components/schemas/Capture"}}},
        "ShareInput": {"type": "object", "additionalProperties": False, "properties": {
            "expires_in": {"type": "integer", "minimum": 60, "maximum": 7776000,
                           "default": 604800, "description": "seconds"},
            "allow_download": {"type": "boolean", "default": False},
            "label": {"type": "string", "maxLength": 200,
                      "description": "who it is for; custody events name the link by it"}}},
        "Share": {"type": "object", "properties": {
            "id": _STR, "url": {"type": "string", "description": "only when made"},
            "token": {"type": "string", "description": "only when made"},
            "kind": {"type": "string", "enum": ["case", "capture"]},
            "target_id": {"type": ["string", "null"]}, "label": _STR,
            "allow_download": {"type": "boolean"}, "created_at": _TIME,
            "expires_at": _TIME, "revoked_at": _TIME_OR_NULL}},
        "SharedView": {"type": "object", "required": ["kind", "expires_at", "allow_download"],
                       "properties": {
            "kind": {"type": "string", "enum": ["case", "capture"]}, "label": _STR,
            "expires_at": _TIME, "allow_download": {"type": "boolean"},
            "case": {"type": "object", "properties": {
                "title": _STR, "parties": {"type": "array"}, "note": _STR,
                "items": {"type": "array", "items": {"type": "object", "properties": {
                    "position": {"type": "integer"}, "title": _STR, "purpose": _STR,
                    "capture": shared_capture}}}}},
            "capture": shared_capture}},
    }
