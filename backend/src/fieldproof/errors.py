"""One error root for the whole project.

Every failure a caller can act on is a :class:`FieldProofError` with a stable
``code`` (snake_case, documented in shared/PROTOCOL.md) and an HTTP-ish
``status`` hint. Nothing here knows about Flask: the web layer maps these to
RFC 9457 problem+json, the CLI maps them to an exit status.
"""

from __future__ import annotations

from typing import Any


class FieldProofError(Exception):
    code = "error"
    status = 500
    title = "Internal error"

    def __init__(self, detail: str | None = None, *, code: str | None = None,
                 status: int | None = None, **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.extra = extra

    def problem(self) -> dict[str, Any]:
        """RFC 9457 problem details body (without transport concerns)."""
        body: dict[str, Any] = {
            "type": f"https://fieldproof.org/problems/{self.code}",
            "title": self.title,
            "status": self.status,
            "code": self.code,
            "detail": self.detail,
        }
        body.update(self.extra)
        return body


class BadRequest(FieldProofError):
    code = "bad_request"
    status = 400
    title = "Bad request"


class InvalidManifest(BadRequest):
    code = "manifest_invalid"
    title = "The manifest does not match the protocol schema"


class InvalidKey(BadRequest):
    code = "key_invalid"
    title = "The public key is not a valid P-256 JWK"


class SignatureInvalid(BadRequest):
    code = "signature_invalid"
    status = 422
    title = "The signature does not verify"


class HashMismatch(BadRequest):
    code = "hash_mismatch"
    status = 422
    title = "The media does not match the manifest"


class NonceError(BadRequest):
    code = "nonce_unknown"
    status = 422
    title = "The nonce is not valid"


class Unauthorized(FieldProofError):
    code = "unauthorized"
    status = 401
    title = "Authentication required"


class Forbidden(FieldProofError):
    code = "forbidden"
    status = 403
    title = "Not allowed"


class NotFound(FieldProofError):
    code = "not_found"
    status = 404
    title = "Not found"


class Conflict(FieldProofError):
    code = "conflict"
    status = 409
    title = "Conflict"


class TooLarge(FieldProofError):
    code = "too_large"
    status = 413
    title = "Payload too large"


class StorageError(FieldProofError):
    code = "storage_error"
    status = 503
    title = "The object store failed"


class IntegrityFailure(StorageError):
    """What was stored does not read back as what was received."""

    code = "storage_integrity"
    title = "Stored bytes did not read back intact"
