"""OpenAPI 3.1 description of API v1.

Written by hand so it reads as documentation; tests/test_openapi.py fails if a
route exists that is not described here (or the other way round).
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from fieldproof import __version__
from fieldproof.core.manifest import schema as manifest_schema
from fieldproof.web import openapi_cases as cases_openapi
from fieldproof.web import openapi_transcripts as transcripts_openapi
from fieldproof.web import openapi_web as web_openapi
from fieldproof.web.openapi_parts import json_ref as _json
from fieldproof.web.openapi_parts import op as _op

MAX_QUERY_INT = 2**62  # web/log_api.py refuses larger values


def _q(name: str, required: bool = False, *, minimum: int = 0,
       maximum: int = MAX_QUERY_INT) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required,
            "schema": {"type": "integer", "minimum": minimum, "maximum": maximum}}


def _embedded(schema: dict[str, Any], at: str) -> dict[str, Any]:
    """A JSON Schema with its own ``#/$defs/...`` refs rewritten to where it sits here."""
    inner = {k: v for k, v in schema.items() if k not in ("$id", "$schema")}
    text = json.dumps(inner).replace('"#/$defs/', f'"{at}/$defs/')
    return json.loads(text)  # type: ignore[no-any-return]


_B64URL_32 = {"type": "string", "pattern": "^[A-Za-z0-9_-]{43}$"}
_JWK = {"type": "object", "required": ["kty", "crv", "x", "y"],
        "description": "a P-256 public key (RFC 7517); the point must be on the curve",
        "properties": {"kty": {"const": "EC"}, "crv": {"const": "P-256"},
                       "x": _B64URL_32, "y": _B64URL_32}}

_CAPTURE_ID = [{"name": "capture_id", "in": "path", "required": True,
                "schema": {"type": "string"}}]


@cache
def spec() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "FieldProof API", "version": __version__,
                 "description": "Signed evidence capture. See shared/PROTOCOL.md."},
        "servers": [{"url": "/api/v1"}],
        "paths": {
            "/health": {"get": _op("Liveness and readiness", {"200": {"description": "OK"}},
                                   auth=False)},
            "/openapi.json": {"get": _op("This document", {"200": {"description": "OK"}},
                                         auth=False)},
            "/auth/login": {"post": _op(
                "Exchange email and password for an API token",
                {"201": _json("Token", "Token issued"),
                 "401": {"description": "login_failed, or account_disabled (said only when "
                                        "the password is right)"},
                 "429": {"description": "rate_limited: too many failed sign-ins"}},
                auth=False,
                requestBody={"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["email", "password"],
                    "properties": {"email": {"type": "string"}, "password": {"type": "string"},
                                   "label": {"type": "string"}}}}}})},
            "/auth/renew": {"post": _op(
                "A new token for the caller (a fresh lifetime); the calling token stops "
                "working 5 minutes later",
                {"201": _json("Token", "Token issued")})},
            "/auth/logout": {"post": _op("Revoke the calling token (its open sockets close)",
                                         {"204": {"description": "Revoked"}})},
            "/auth/signup": {
                "get": _op("Whether and how one signs up here (FIELDPROOF_SIGNUP), and whom "
                           "to ask (FIELDPROOF_OPERATOR_CONTACT); for the sign-in page",
                           {"200": _json("SignupInfo")}, auth=False),
                "post": _op(
                    "Make an account: `open` mode anyone, `invite` mode with a one-time "
                    "invitation for this email, `closed` mode nobody. Attempts are "
                    "rate-limited per address",
                    {"201": _json("Token", "Account made; signed in"),
                     "400": {"description": "email_invalid, password_invalid, json_invalid"},
                     "403": {"description": "signup_closed, or invite_invalid (none, not for "
                                            "this email, used or expired)"},
                     "409": {"description": "user_exists"},
                     "429": {"description": "rate_limited, with retry_after and Retry-After"}},
                    auth=False,
                    requestBody={"required": True, "content": {"application/json": {"schema": {
                        "type": "object", "required": ["email", "password"],
                        "properties": {"email": {"type": "string"},
                                       "password": {"type": "string", "minLength": 8,
                                                    "maxLength": 1024},
                                       "invite": {"type": "string"}}}}}}),
            },
            "/auth/reset": {"post": _op(
                "Set a new password with the secret of a one-time reset link "
                "(`fieldproof admin reset-password`); every token of the user is revoked",
                {"204": {"description": "Password set"},
                 "400": {"description": "reset_invalid (unknown, used or expired), "
                                        "password_invalid"}},
                auth=False,
                requestBody={"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["token", "password"],
                    "properties": {"token": {"type": "string"},
                                   "password": {"type": "string", "minLength": 8,
                                                "maxLength": 1024}}}}}})},
            "/auth/password": {"post": _op(
                "Change the caller's password; every other token of the caller is revoked "
                "(their sockets close), the calling one keeps working",
                {"204": {"description": "Password changed"},
                 "400": {"description": "password_invalid (the new one)"},
                 "401": {"description": "login_failed: the current password is wrong"},
                 "429": {"description": "rate_limited: counted with failed sign-ins"}},
                requestBody={"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["current", "new"],
                    "properties": {"current": {"type": "string"},
                                   "new": {"type": "string", "minLength": 8,
                                           "maxLength": 1024}}}}}})},
            "/auth/tokens": {"get": _op(
                "The caller's working tokens (neither revoked nor expired), oldest first; "
                "`current` marks the calling one",
                {"200": _json("TokenList")})},
            "/auth/tokens/{token_id}": {"delete": _op(
                "Revoke one of the caller's tokens (its open sockets close)",
                {"204": {"description": "Revoked"},
                 "404": {"description": "token_not_found: not the caller's, revoked or "
                                        "expired"}},
                parameters=[{"name": "token_id", "in": "path", "required": True,
                             "schema": {"type": "string"}}])},
            "/me": {"get": _op("The calling user", {"200": {"description": "OK"}})},
            "/devices": {
                "get": _op("Devices enrolled by the caller", {"200": {"description": "OK"}}),
                "post": _op("Enroll a device public key (P-256 JWK)",
                            {"201": _json("Device", "Enrolled (or already enrolled)")},
                            requestBody={"required": True, "content": {"application/json": {
                                "schema": {"type": "object", "required": ["jwk"],
                                           "properties": {"jwk": _JWK,
                                                          "label": {"type": "string",
                                                                    "maxLength": 100}}}}}}),
            },
            "/devices/{key_id}": {"delete": _op(
                "Revoke a device key: its new captures and streams are refused; what it "
                "signed before stays valid and its captures say it was revoked later",
                {"200": _json("Device", "Revoked (revoked_at set)"),
                 "404": {"description": "device_not_found"}},
                parameters=[{"name": "key_id", "in": "path", "required": True,
                             "schema": {"type": "string"}}])},
            "/nonces": {"post": _op("Issue a one-time capture nonce",
                                    {"201": _json("Nonce", "Issued")})},
            "/captures": {
                "get": _op("The caller's captures, newest first",
                           {"200": {"description": "A page: {items, next}"}},
                           parameters=[
                               {"name": "limit", "in": "query",
                                "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
                               {"name": "before", "in": "query",
                                "schema": {"type": "string", "pattern": "^[0-9]{1,18}$"},
                                "description": "the `next` value of the previous page"},
                               *cases_openapi.CAPTURE_FILTERS]),
                "post": _op(
                    "Upload a signed capture (manifest, signature, media in one request): a "
                    "multipart form, or the media as the body with the headers "
                    "FieldProof-Manifest (base64url of the manifest JSON, at most 7,168 "
                    "characters) and FieldProof-Signature, and a Content-Length (411 "
                    "length_required) equal to the manifest's size; a raw upload's manifest, "
                    "device and signature are checked before the body is read",
                    {"201": _json("Capture", "Stored, read back and verified"),
                     "200": _json("Capture", "This signed manifest was already stored")},
                    parameters=[
                        {"name": "FieldProof-Manifest", "in": "header", "required": False,
                         "schema": {"type": "string", "maxLength": 7168},
                         "description": "raw upload: base64url of the manifest JSON"},
                        {"name": "FieldProof-Signature", "in": "header", "required": False,
                         "schema": {"type": "string"},
                         "description": "raw upload: base64url r||s"}],
                    requestBody={"required": True, "content": {"multipart/form-data": {
                        "schema": {"type": "object",
                                   "required": ["manifest", "signature", "media"],
                                   "properties": {
                                       "manifest": {"type": "string",
                                                    "description": "manifest JSON"},
                                       "signature": {"type": "string",
                                                     "description": "base64url r||s"},
                                       "media": {"type": "string", "format": "binary"}}}},
                        "*/*": {"schema": {"type": "string", "format": "binary"},
                                "description": "raw upload: the media, byte-exact"}}}),
            },
            "/captures/{capture_id}": {"get": _op(
                "One capture with its manifest and checks", {"200": _json("Capture")},
                parameters=_CAPTURE_ID), "patch": cases_openapi.annotate_op()},
            "/captures/{capture_id}/original": {"get": _op(
                "The original bytes, byte-exact; supports a single Range",
                {"200": {"description": "The whole original"},
                 "206": {"description": "The requested byte range"}},
                parameters=_CAPTURE_ID)},
            "/captures/{capture_id}/derived/{variant}": {"get": _op(
                "A derived copy (the original is never changed). Of a JPEG photo: "
                "`display` has the signed GPS fix and capture time in EXIF, `privacy` has "
                "all metadata removed. Of any photo, audio or video C2PA can carry (WebM "
                "and Ogg recordings repackaged into MP4 first): `c2pa`, the original with "
                "signed, time-stamped Content Credentials. Of any photo, video, screen or audio "
                "recording: `thumbnail`, a JPEG of at most 480 px (a photo downscaled, a video's "
                "first frame, a recording's waveform; 409 no_thumbnail otherwise). Headers "
                "X-FieldProof-Original-SHA256, X-FieldProof-Derived-SHA256 and "
                "X-FieldProof-Derivation link it to the original",
                {"200": {"description": "The derived copy",
                         "content": {"image/jpeg": {}, "image/png": {}, "image/webp": {},
                                     "audio/mp4": {}, "video/mp4": {}, "audio/wav": {},
                                     "audio/mpeg": {}, "video/quicktime": {}}},
                 "404": {"description": "capture_not_found, or not_found for an unknown "
                                        "variant"},
                 "409": {"description": "not_a_photo, or unsupported_format (display and "
                                        "privacy: not a JPEG; c2pa: a format it cannot "
                                        "carry or convert)"},
                 "413": {"description": "too_large: c2pa copies are made for originals "
                                        "up to 64 MiB"},
                 "503": {"description": "c2pa_signing_failed: no TSA answered"}},
                parameters=[*_CAPTURE_ID,
                            {"name": "variant", "in": "path", "required": True,
                             "schema": {"type": "string",
                                        "enum": ["display", "privacy", "c2pa",
                                                 "thumbnail"]}}])},
            "/captures/{capture_id}/certificate.pdf": {"get": _op(
                "The signed evidence certificate (存证证书) alone, as in the bundle: a plain "
                "verdict in Chinese and English, the picture, times local and UTC, place, "
                "checks; PAdES signed and time-stamped. A custody event `certificate`",
                {"200": {"description": "The PDF", "content": {"application/pdf": {}}},
                 "409": {"description": "not_anchored: not yet in a timestamped checkpoint"}},
                parameters=_CAPTURE_ID)},
            "/captures/{capture_id}/custody": {"get": _op(
                "The chain of custody: every read and status change, each a log leaf",
                {"200": {"description": "{capture_id, events: [{event, at, actor, origin, "
                                        "detail, leaf_index}]}"}},
                parameters=_CAPTURE_ID)},
            "/captures/{capture_id}/receipt": {"get": _op(
                "The log receipt: inclusion proof to a signed, timestamped checkpoint",
                {"200": _json("Receipt"),
                 "409": {"description": "not_anchored: not yet in a timestamped checkpoint"}},
                parameters=_CAPTURE_ID)},
            "/captures/{capture_id}/bundle": {"get": _op(
                "An evidence bundle (zip) that verifies offline: manifest, signature, "
                "media, log entry, inclusion proof, checkpoint, timestamps, keys, VERIFY.md",
                {"200": {"description": "The bundle",
                         "content": {"application/zip": {}}},
                 "409": {"description": "not_anchored: not yet in a timestamped checkpoint"}},
                parameters=_CAPTURE_ID)},
            "/log": {"get": _op("Log origin, verifier key (C2SP vkey), size, TSA chains",
                                {"200": {"description": "OK"}}, auth=False)},
            "/log/checkpoint": {"get": _op(
                "The latest checkpoint: a C2SP signed note",
                {"200": {"description": "OK", "content": {"text/plain": {}}}}, auth=False)},
            "/log/checkpoints": {"get": _op(
                "Every checkpoint with its RFC 3161 timestamps, oldest first",
                {"200": {"description": "OK"}}, auth=False,
                parameters=[_q("start"), _q("limit", minimum=1, maximum=1000)])},
            "/log/proof/inclusion": {"get": _op(
                "RFC 9162 inclusion proof (audit path) of leaf `index` in tree `size`",
                {"200": {"description": "OK"}}, auth=False,
                parameters=[_q("index", True), _q("size", True, minimum=1)])},
            "/log/proof/consistency": {"get": _op(
                "RFC 9162 consistency proof between two tree sizes",
                {"200": {"description": "OK"}}, auth=False,
                parameters=[_q("first", True, minimum=1), _q("second", True, minimum=1)])},
            "/log/entries": {"get": _op(
                "Leaf data (canonical JSON) for leaves [start, end), at most 1000",
                {"200": {"description": "OK"}}, auth=False,
                parameters=[_q("start", True), _q("end", True, minimum=1)])},
            "/lookup/{sha256}": {"get": _op(
                "Was a file with this SHA-256 (media or manifest hash) anchored, and when. "
                "Tells kind, receipt time, leaf index, checkpoint and TSA genTimes; never "
                "owner, device, place or capture id. Rate-limited per address",
                {"200": _json("Lookup"),
                 "400": {"description": "hash_invalid: not 64 hex digits"},
                 "429": {"description": "rate_limited, with retry_after and Retry-After"}},
                auth=False,
                parameters=[{"name": "sha256", "in": "path", "required": True,
                             "schema": {"type": "string", "pattern": "^[0-9a-fA-F]{64}$"}}])},
            "/lookup": {"post": _op(
                "As GET /lookup/{sha256}, with the hash in the body (kept out of access "
                "logs); what the /verify page uses",
                {"200": _json("Lookup"),
                 "400": {"description": "hash_invalid or json_invalid"},
                 "429": {"description": "rate_limited"}},
                auth=False,
                requestBody={"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["sha256"],
                    "properties": {"sha256": {"type": "string",
                                              "pattern": "^[0-9a-fA-F]{64}$"}}}}}})},
            "/verify/timestamp": {"post": _op(
                "Explain an RFC 3161 token over a checkpoint step by step (status, TSA, "
                "genTime, policy, hash, imprint, signer, chain to this server's TSAs, CMS "
                "signature, embedded or external). Send only the token and the checkpoint "
                "text. Rate-limited per address",
                {"200": _json("TimestampExplanation"),
                 "400": {"description": "json_invalid or bad_request (missing field, "
                                        "token not base64)"},
                 "413": {"description": "too_large: body over 64 KiB, token over 32 KiB or "
                                        "checkpoint over 8 KiB"},
                 "429": {"description": "rate_limited"}},
                auth=False,
                requestBody={"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["token_b64", "checkpoint"],
                    "properties": {
                        "token_b64": {"type": "string",
                                      "description": "DER TimeStampResp, standard base64"},
                        "checkpoint": {"type": "string",
                                       "description": "the signed note text the token "
                                                      "time-stamps, exactly"}}}}}})},
            "/trust": {"get": _op(
                "Every trust anchor a verifier pins: the log's origin, C2SP vkey and key "
                "SHA-256, the tlog-tiles URL, the server CA (certificates, lists, C2PA), "
                "each TSA's chain, and the witnesses (none yet). Rate-limited per address",
                {"200": _json("Trust"),
                 "429": {"description": "rate_limited, with retry_after and Retry-After"}},
                auth=False)},
            **cases_openapi.paths(),
            **web_openapi.paths(),
            **transcripts_openapi.paths(),
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Problem": {"type": "object", "required": ["type", "title", "status", "code"],
                            "properties": {"type": {"type": "string"},
                                           "title": {"type": "string"},
                                           "status": {"type": "integer"},
                                           "code": {"type": "string"},
                                           "detail": {"type": "string"}}},
                "Token": {"type": "object", "required": ["token", "expires_at"],
                          "properties": {"token": {"type": "string"},
                                         "expires_at": {"type": "string"}}},
                "SignupInfo": {"type": "object", "required": ["mode"], "properties": {
                    "mode": {"type": "string", "enum": ["open", "invite", "closed"]},
                    "contact": {"type": "string",
                                "description": "who runs this server; absent when not set"}}},
                "TokenList": {"type": "object", "required": ["items"], "properties": {
                    "items": {"type": "array", "items": {
                        "type": "object",
                        "required": ["id", "label", "created_at", "expires_at", "current"],
                        "properties": {"id": {"type": "integer"}, "label": {"type": "string"},
                                       "created_at": {"type": "string"},
                                       "expires_at": {"type": ["string", "null"]},
                                       "current": {"type": "boolean"}}}}}},
                "Nonce": {"type": "object", "properties": {
                    "nonce": {"type": "string"}, "issued_at": {"type": "string"},
                    "expires_at": {"type": "string"}}},
                "Device": {"type": "object", "properties": {
                    "key_id": {"type": "string"}, "jwk": {"type": "object"},
                    "label": {"type": "string"}, "created_at": {"type": "string"},
                    "head_manifest": {"type": ["string", "null"]},
                    "capture_count": {"type": "integer"},
                    "revoked_at": {"type": ["string", "null"]}}},
                "Manifest": _embedded(manifest_schema(), "#/components/schemas/Manifest"),
                "Receipt": {"type": "object", "properties": {
                    "capture_id": {"type": "string"}, "origin": {"type": "string"},
                    "leaf_index": {"type": "integer"}, "tree_size": {"type": "integer"},
                    "entry": {"type": "string", "description": "the leaf data (JCS)"},
                    "leaf_hash": {"type": "string", "description": "base64"},
                    "inclusion_proof": {"type": "array", "items": {"type": "string"}},
                    "checkpoint": {"type": "string", "description": "C2SP signed note"},
                    "checkpoint_created_at": {
                        "type": ["string", "null"],
                        "description": "server time the checkpoint was signed (RFC 3339)"},
                    "cosignatures": {
                        "type": "string",
                        "description": "witnesses' C2SP tlog-cosignature lines on the "
                                       "checkpoint; append them to it for the cosigned note"},
                    "timestamps": {"type": "array", "items": {"type": "object", "properties": {
                        "tsa": {"type": "string"}, "embedded": {"type": "boolean"},
                        "token_b64": {"type": "string"}, "gen_time": {"type": "string"}}}}}},
                "Trust": {
                    "type": "object",
                    "required": ["log", "tiles_url", "server_ca", "tsas", "witnesses"],
                    "properties": {
                        "log": {"type": "object", "required": ["origin", "vkey", "key_sha256"],
                                "properties": {
                                    "origin": {"type": "string"},
                                    "vkey": {"type": "string",
                                             "description": "C2SP signed-note verifier key"},
                                    "key_sha256": {"type": "string",
                                                   "pattern": "^[0-9a-f]{64}$",
                                                   "description": "SHA-256 of the raw "
                                                                  "Ed25519 public key"}}},
                        "tiles_url": {"type": "string",
                                      "description": "C2SP tlog-tiles prefix: <tiles_url>/"
                                                     "checkpoint, /tile/<L>/<N>, "
                                                     "/tile/entries/<N>"},
                        "server_ca": {"type": "string", "description": "PEM"},
                        "tsas": {"type": "array", "items": {
                            "type": "object", "required": ["name", "url", "embedded", "chain"],
                            "properties": {
                                "name": {"type": "string"},
                                "url": {"type": ["string", "null"]},
                                "embedded": {"type": "boolean"},
                                "chain": {"type": "array", "items": {"type": "string"},
                                          "description": "PEM, root last"}}}},
                        "witnesses": {"type": "array", "maxItems": 0,
                                      "description": "cosigning witnesses: none yet"}}},
                "Lookup": {"type": "object", "required": ["sha256", "found", "matches"],
                           "properties": {
                    "sha256": {"type": "string"}, "found": {"type": "boolean"},
                    "truncated": {"type": "boolean", "description": "more than 20 matches"},
                    "matches": {"type": "array", "items": {"type": "object", "properties": {
                        "matched": {"type": "string", "enum": ["media", "manifest"]},
                        "kind": {"type": "string"}, "partial": {"type": "boolean"},
                        "received_at": {"type": "string"},
                        "anchored": {"type": "boolean"},
                        "leaf_index": {"type": ["integer", "null"]},
                        "checkpoint": {"type": ["object", "null"], "properties": {
                            "tree_size": {"type": "integer"},
                            "created_at": {"type": "string"},
                            "timestamps": {"type": "array", "items": {
                                "type": "object", "properties": {
                                    "tsa": {"type": "string"},
                                    "embedded": {"type": "boolean"},
                                    "gen_time": {"type": "string"}}}}}}}}}}},
                "TimestampExplanation": {"type": "object", "properties": {
                    "ok": {"type": "boolean", "description": "every step passed"},
                    "tsa": {"type": ["string", "null"]},
                    "embedded": {"type": ["boolean", "null"]},
                    "gen_time": {"type": ["string", "null"]},
                    "steps": {"type": "array", "items": {
                        "type": "object", "required": ["step", "ok", "code", "params"],
                        "description": "codes and params: shared/vectors/verify/"
                                       "timestamp-steps.json",
                        "properties": {"step": {"type": "string"}, "ok": {"type": "boolean"},
                                       "code": {"type": "string"},
                                       "params": {"type": "object"}}}}}},
                "Check": {"type": "object", "required": ["name", "ok", "detail"],
                          "properties": {"name": {"type": "string"}, "ok": {"type": "boolean"},
                                         "detail": {"type": "string"}}},
                "Capture": {"type": "object", "properties": {
                    "id": {"type": "string"},
                    "kind": {"type": "string"},
                    "status": {"type": "string", "enum": ["stored", "anchored"]},
                    "media": {"type": "object"},
                    "manifest": {"$ref": "#/components/schemas/Manifest"},
                    "manifest_hash": {"type": "string"},
                    "signature": {"type": "string"},
                    "device": {"type": "object"},
                    "checks": {"type": "array",
                               "items": {"$ref": "#/components/schemas/Check"}},
                    "exif": {"type": "object"},
                    "received_at": {"type": "string"},
                    **cases_openapi.CAPTURE_WORDS}},
                **cases_openapi.schemas(),
                **web_openapi.schemas(),
                **transcripts_openapi.schemas(),
            },
        },
    }
