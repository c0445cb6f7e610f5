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


class ObjectMissing(NotFound):
    """A stored object is gone. To the store's caller it is not found; to a client
    whose capture refers to it, it is the server's failure (500)."""

    code = "object_missing"
    status = 500
    title = "The stored object is missing"


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


class RateLimited(FieldProofError):
    code = "rate_limited"
    status = 429
    title = "Too many requests"


class StorageFull(FieldProofError):
    """The disk (or the database's disk) has no room: nothing was kept."""

    code = "storage_full"
    status = 507
    title = "Insufficient storage"


class DatabaseUnavailable(FieldProofError):
    code = "database_unavailable"
    status = 503
    title = "The database is unavailable"


_FULL_ERRNOS = {28, 122}  # ENOSPC, EDQUOT


def map_storage_error(err: BaseException) -> FieldProofError | None:
    """Name the failures a client can act on: a full disk, an unreachable database.

    Looks through the exception chain (SQLAlchemy wraps sqlite3 and psycopg
    errors; our stores wrap OSError) without importing either library.
    """
    seen: set[int] = set()
    e: BaseException | None = err
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, StorageFull):
            return e
        if isinstance(e, OSError) and e.errno in _FULL_ERRNOS:
            return StorageFull("the server's disk is full; nothing of this request was kept")
        text = str(e).lower()
        if "database or disk is full" in text or "no space left on device" in text \
                or "could not extend file" in text or "disk full" in text:
            return StorageFull("the server's disk is full; nothing of this request was kept")
        if type(e).__name__ == "OperationalError" and (
                "connection" in text or "could not connect" in text):
            return DatabaseUnavailable("the database cannot be reached; try again later")
        e = e.__cause__ or e.__context__
    return None


class CustodyUnavailable(FieldProofError):
    """A read that cannot be entered in the chain of custody is not served."""

    code = "custody_unavailable"
    status = 503
    title = "The read cannot be recorded"
