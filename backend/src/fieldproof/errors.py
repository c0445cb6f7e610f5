"""One error root for the whole project, and one class per stable code.

Every failure a caller can act on is a :class:`FieldProofError` subclass with
its own ``code`` (snake_case; tests/test_errors.py fails if one is missing from
shared/PROTOCOL.md). ``http_status`` is what the web layer answers with; it is
not a process exit status, which only the CLI decides. Nothing here knows about
Flask: the web layer maps these to RFC 9457 problem+json.

Raise the class with a sentence for people and, as keywords, any parameters a
client may need (``retry_after``, ``capture_id``, ...): they go into the problem
body. A class never changes its code or status where it is raised.
"""

from __future__ import annotations

from typing import Any, ClassVar


class FieldProofError(Exception):
    code: ClassVar[str] = "error"
    http_status: ClassVar[int] = 500
    title: ClassVar[str] = "Internal error"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra

    def problem(self) -> dict[str, Any]:
        """RFC 9457 problem details body (without transport concerns)."""
        body: dict[str, Any] = {
            "type": f"https://fieldproof.org/problems/{self.code}",
            "title": self.title,
            "status": self.http_status,
            "code": self.code,
            "detail": self.detail,
        }
        body.update(self.extra)
        return body


# -- Categories: what a client can do about it ----------------------------------------------------


class BadRequest(FieldProofError):
    code = "bad_request"
    http_status = 400
    title = "Bad request"


class Unauthorized(FieldProofError):
    code = "unauthorized"
    http_status = 401
    title = "Authentication required"


class Forbidden(FieldProofError):
    code = "forbidden"
    http_status = 403
    title = "Not allowed"


class NotFound(FieldProofError):
    code = "not_found"
    http_status = 404
    title = "Not found"


class Conflict(FieldProofError):
    code = "conflict"
    http_status = 409
    title = "Conflict"


class TooLarge(FieldProofError):
    code = "too_large"
    http_status = 413
    title = "Payload too large"


class Unprocessable(FieldProofError):
    """Well-formed, but not acceptable (a bad signature, a broken chain)."""

    code = "unprocessable"
    http_status = 422
    title = "Unprocessable"


class RateLimited(FieldProofError):
    code = "rate_limited"
    http_status = 429
    title = "Too many requests"


class Unavailable(FieldProofError):
    """A collaborator the request needs is not available now; try again later."""

    code = "unavailable"
    http_status = 503
    title = "Service unavailable"


# -- Requests -------------------------------------------------------------------------------------


class JsonInvalid(BadRequest):
    code = "json_invalid"
    http_status = 400
    title = "The body is not the JSON expected"


class QueryInvalid(BadRequest):
    code = "query_invalid"
    http_status = 400
    title = "A query parameter is not valid"


class MultipartRequired(BadRequest):
    code = "multipart_required"
    http_status = 400
    title = "A multipart form is expected"


class LengthRequired(BadRequest):
    code = "length_required"
    http_status = 411
    title = "The request must say its length"


class TooManyParts(BadRequest):
    code = "too_many_parts"
    http_status = 400
    title = "The form has too many parts"


class FormTooLarge(TooLarge):
    code = "form_too_large"
    http_status = 413
    title = "The form is too large"


class ManifestMissing(BadRequest):
    code = "manifest_missing"
    http_status = 400
    title = "The manifest part is missing"


class SignatureMissing(BadRequest):
    code = "signature_missing"
    http_status = 400
    title = "The signature part is missing"


class MediaMissing(BadRequest):
    code = "media_missing"
    http_status = 400
    title = "The media part is missing"


class RangeInvalid(BadRequest):
    code = "range_invalid"
    http_status = 400
    title = "The byte range is not valid"


# -- Accounts, tokens and devices -----------------------------------------------------------------


class EmailInvalid(BadRequest):
    code = "email_invalid"
    http_status = 400
    title = "Not an email address"


class PasswordInvalid(BadRequest):
    code = "password_invalid"
    http_status = 400
    title = "The password is too short or too long"


class UserExists(Conflict):
    code = "user_exists"
    http_status = 409
    title = "A user with that email exists"


class LoginFailed(Unauthorized):
    code = "login_failed"
    http_status = 401
    title = "Wrong email or password"


class TokenMissing(Unauthorized):
    code = "token_missing"
    http_status = 401
    title = "No bearer token was sent"


class TokenInvalid(Unauthorized):
    code = "token_invalid"
    http_status = 401
    title = "The token is not valid or was revoked"


class TokenExpired(Unauthorized):
    code = "token_expired"
    http_status = 401
    title = "The token has expired"


class InvalidKey(BadRequest):
    code = "key_invalid"
    http_status = 400
    title = "The public key is not a valid P-256 JWK"


class KeyIsPrivate(InvalidKey):
    code = "key_is_private"
    http_status = 400
    title = "A private key was sent"


class DeviceTaken(Conflict):
    code = "device_taken"
    http_status = 409
    title = "The key is enrolled by another account"


class DeviceUnknown(Forbidden):
    code = "device_unknown"
    http_status = 403
    title = "The device key is not enrolled"


class DeviceRevoked(Forbidden):
    code = "device_revoked"
    http_status = 403
    title = "The device key was revoked"


class DeviceNotFound(NotFound):
    code = "device_not_found"
    http_status = 404
    title = "No such device"


class AccountDisabled(Unauthorized):
    code = "account_disabled"
    http_status = 401
    title = "The account is disabled"


class SignupClosed(Forbidden):
    code = "signup_closed"
    http_status = 403
    title = "This server does not take sign-ups"


class InviteInvalid(Forbidden):
    code = "invite_invalid"
    http_status = 403
    title = "No valid invitation"


class ResetInvalid(BadRequest):
    code = "reset_invalid"
    http_status = 400
    title = "The reset link is not valid, was used or has expired"


class TokenNotFound(NotFound):
    code = "token_not_found"
    http_status = 404
    title = "No such token"


class UserNotFound(NotFound):
    code = "user_not_found"
    http_status = 404
    title = "No such user"


# -- Captures -------------------------------------------------------------------------------------


class InvalidManifest(BadRequest):
    code = "manifest_invalid"
    http_status = 400
    title = "The manifest does not match the protocol schema"


class ManifestTooLarge(InvalidManifest):
    code = "manifest_too_large"
    http_status = 400
    title = "The manifest is too large"


class SchemaInvalid(BadRequest):
    code = "schema_invalid"
    http_status = 400
    title = "The stream message does not match its schema"


class SignatureInvalid(BadRequest):
    code = "signature_invalid"
    http_status = 422
    title = "The signature does not verify"


class HashMismatch(BadRequest):
    code = "hash_mismatch"
    http_status = 422
    title = "The media does not match the manifest"


class SizeMismatch(HashMismatch):
    code = "size_mismatch"
    http_status = 422
    title = "The media's size does not match the manifest"


class NonceError(BadRequest):
    code = "nonce_unknown"
    http_status = 422
    title = "The nonce is not valid"


class NonceExpired(NonceError):
    code = "nonce_expired"
    http_status = 422
    title = "The nonce has expired"


class NonceReused(Conflict):
    code = "nonce_reused"
    http_status = 409
    title = "The nonce was already used"


class CaptureNotFound(NotFound):
    code = "capture_not_found"
    http_status = 404
    title = "No such capture"


# -- Live streams (protocol v2) -------------------------------------------------------------------


class UnknownStream(NotFound):
    code = "unknown_stream"
    http_status = 404
    title = "No such stream"


class UnknownEvent(NotFound):
    code = "unknown_event"
    http_status = 404
    title = "No such Socket.IO event"


class Gap(Unprocessable):
    code = "gap"
    http_status = 422
    title = "A chunk is missing before this one"


class DuplicateMismatch(Conflict):
    code = "duplicate_mismatch"
    http_status = 409
    title = "A chunk was already received with other bytes"


class BadSignature(Unprocessable):
    code = "bad_signature"
    http_status = 422
    title = "The device's signature does not verify"


class BadChain(Unprocessable):
    code = "bad_chain"
    http_status = 422
    title = "The chunk does not follow from the previous one"


class BadHash(Unprocessable):
    code = "bad_hash"
    http_status = 422
    title = "The bytes do not match their signed hash"


class StreamClosed(Conflict):
    code = "stream_closed"
    http_status = 409
    title = "The stream is already closed"


class ManifestMismatch(Unprocessable):
    code = "manifest_mismatch"
    http_status = 422
    title = "The final manifest does not describe this stream"


# -- Storage --------------------------------------------------------------------------------------


class ObjectKeyInvalid(BadRequest):
    code = "object_key_invalid"
    http_status = 400
    title = "Not a valid object key"


class StorageError(FieldProofError):
    code = "storage_error"
    http_status = 503
    title = "The object store failed"


class IntegrityFailure(StorageError):
    """What was stored does not read back as what was received."""

    code = "storage_integrity"
    http_status = 503
    title = "Stored bytes did not read back intact"


class ObjectMissing(NotFound):
    """A stored object is gone. To the store's caller it is not found; to a client
    whose capture refers to it, it is the server's failure (500)."""

    code = "object_missing"
    http_status = 500
    title = "The stored object is missing"


class StorageFull(FieldProofError):
    """The disk (or the database's disk) has no room: nothing was kept."""

    code = "storage_full"
    http_status = 507
    title = "Insufficient storage"


class DatabaseUnavailable(FieldProofError):
    code = "database_unavailable"
    http_status = 503
    title = "The database is unavailable"


class CustodyUnavailable(FieldProofError):
    """A read that cannot be entered in the chain of custody is not served."""

    code = "custody_unavailable"
    http_status = 503
    title = "The read cannot be recorded"


# -- The transparency log -------------------------------------------------------------------------


class EntryInvalid(BadRequest):
    code = "entry_invalid"
    http_status = 400
    title = "Not a valid log entry"


class ProofOutOfRange(BadRequest):
    code = "proof_out_of_range"
    http_status = 400
    title = "The proof is outside the log"


class ProofError(FieldProofError):
    code = "proof_invalid"
    http_status = 422
    title = "The Merkle proof does not verify"


class CheckpointError(FieldProofError):
    code = "checkpoint_invalid"
    http_status = 422
    title = "The checkpoint is not valid"


class VkeyInvalid(CheckpointError):
    code = "vkey_invalid"
    http_status = 422
    title = "Not a valid verifier key"


class WitnessRequestInvalid(BadRequest):
    code = "witness_request_invalid"
    http_status = 400
    title = "Not a valid add-checkpoint request"


class WitnessUnknownLog(NotFound):
    code = "witness_unknown_log"
    http_status = 404
    title = "This witness does not follow that log"


class WitnessSignatureInvalid(Forbidden):
    code = "witness_signature_invalid"
    http_status = 403
    title = "No signature by a key this witness trusts for that log"


class WitnessConflict(Conflict):
    """Carries ``size``: the latest size the witness cosigned (its 409 body)."""

    code = "witness_conflict"
    http_status = 409
    title = "Not the size this witness last cosigned"


class WitnessUnavailable(Unavailable):
    code = "witness_unavailable"
    http_status = 503
    title = "The witness could not be reached or answered badly"


class NoCheckpoint(NotFound):
    code = "no_checkpoint"
    http_status = 404
    title = "The log has no checkpoint yet"


class NotAnchored(Conflict):
    code = "not_anchored"
    http_status = 409
    title = "Not yet in a time-stamped checkpoint"


class LogCorrupt(FieldProofError):
    code = "log_corrupt"
    http_status = 500
    title = "The log's stored tree is incomplete"


# -- Time-stamps (RFC 3161) -----------------------------------------------------------------------


class TimestampInvalid(FieldProofError):
    code = "timestamp_invalid"
    http_status = 422
    title = "The time-stamp token is not valid"


class TsaRequestInvalid(FieldProofError):
    code = "tsa_request_invalid"
    http_status = 400
    title = "The time-stamp request is not valid"


class TsaUnavailable(FieldProofError):
    code = "tsa_unavailable"
    http_status = 503
    title = "The time-stamp authority could not be reached"


class TsaStateInvalid(FieldProofError):
    code = "tsa_state_invalid"
    http_status = 500
    title = "The embedded TSA's files are damaged"


# -- Evidence: bundles, certificates, derived copies ----------------------------------------------


class NotAPhoto(Conflict):
    code = "not_a_photo"
    http_status = 409
    title = "Not a photo"


class NoThumbnail(Conflict):
    code = "no_thumbnail"
    http_status = 409
    title = "This file has no picture to show"


class UnsupportedFormat(Conflict):
    code = "unsupported_format"
    http_status = 409
    title = "This format cannot be converted"


class CredentialError(FieldProofError):
    """Signing failed, or the signed copy did not read back as Trusted."""

    code = "c2pa_failed"
    http_status = 500
    title = "Content credentials could not be made"


class C2paSigningFailed(CredentialError):
    code = "c2pa_signing_failed"
    http_status = 503
    title = "No time-stamp authority could stamp the credentials"


class C2paUnreadable(CredentialError):
    code = "c2pa_unreadable"
    http_status = 422
    title = "The C2PA manifest cannot be read"


class C2paSelfCheckFailed(CredentialError):
    code = "c2pa_self_check_failed"
    http_status = 500
    title = "The signed copy did not read back as Trusted"


class C2paUnavailable(Unavailable):
    code = "c2pa_unavailable"
    http_status = 503
    title = "Content credentials cannot be made right now"


class CertificateError(FieldProofError):
    code = "certificate_failed"
    http_status = 500
    title = "The certificate PDF could not be made"


class SigningIdentityInvalid(CertificateError):
    code = "signing_identity_invalid"
    http_status = 500
    title = "The server's signing identity is damaged"


class CertificateTimestampUnavailable(CertificateError):
    code = "certificate_timestamp_unavailable"
    http_status = 503
    title = "No time-stamp authority could stamp the certificate"


class BundleTimestampUnavailable(Unavailable):
    code = "bundle_timestamp_unavailable"
    http_status = 503
    title = "No time-stamp authority could stamp the bundle's signature"


class CustodyChainConflict(Conflict):
    code = "custody_chain_conflict"
    http_status = 409
    title = "Another custody event of this capture was recorded first"


class PublicUrlRequired(FieldProofError):
    code = "public_url_required"
    http_status = 500
    title = "FIELDPROOF_PUBLIC_URL must be set"


class BundleUnusable(FieldProofError):
    """Not a bundle at all (not a zip, required files missing): nothing to verify."""

    code = "bundle_unusable"
    http_status = 422
    title = "Not a usable evidence bundle"


class TsaRootInvalid(BundleUnusable):
    code = "tsa_root_invalid"
    http_status = 422
    title = "A pinned TSA root is not a certificate"


class HashInvalid(BadRequest):
    code = "hash_invalid"
    http_status = 400
    title = "Not a SHA-256"


# -- Annotations, cases and shares ----------------------------------------------------------------


class AnnotationInvalid(BadRequest):
    code = "annotation_invalid"
    http_status = 400
    title = "The title, note or tags are not valid"


class CaseInvalid(BadRequest):
    code = "case_invalid"
    http_status = 400
    title = "The case or item fields are not valid"


class CaseNotFound(NotFound):
    code = "case_not_found"
    http_status = 404
    title = "No such case"


class ItemNotFound(NotFound):
    code = "item_not_found"
    http_status = 404
    title = "The capture is not an item of this case"


class ItemExists(Conflict):
    code = "item_exists"
    http_status = 409
    title = "The capture is already an item of this case"


class CaseEmpty(Conflict):
    code = "case_empty"
    http_status = 409
    title = "The case has no items to export"


class ShareInvalid(BadRequest):
    code = "share_invalid"
    http_status = 400
    title = "The share's fields are not valid"


class ShareNotFound(NotFound):
    """Unknown, revoked and expired links answer alike."""

    code = "share_not_found"
    http_status = 404
    title = "No such share, or it was revoked or has expired"


class DownloadNotAllowed(Forbidden):
    code = "download_not_allowed"
    http_status = 403
    title = "This share does not allow downloads"


# -- web captures (webcap/) ------------------------------------------------------------------------
class WebUrlInvalid(BadRequest):
    code = "web_url_invalid"
    http_status = 400
    title = "This URL cannot be recorded"


class WebAddressRefused(Forbidden):
    """The URL, a redirect or a DNS answer leads to a private, loopback or link-local address."""

    code = "web_address_refused"
    http_status = 403
    title = "This address is not on the public internet"


class WebTaskInvalid(BadRequest):
    code = "web_task_invalid"
    http_status = 400
    title = "The web capture request is not valid"


class WebTaskNotFound(NotFound):
    code = "web_capture_not_found"
    http_status = 404
    title = "No such web capture"


class WebTaskState(Conflict):
    """Confirm or abandon asked of a task that is not awaiting confirmation."""

    code = "web_task_state"
    http_status = 409
    title = "The web capture is not in a state that allows this"


class WebTaskLimit(RateLimited):
    code = "web_task_limit"
    http_status = 429
    title = "Too many web captures are waiting"


class WebRecorderUnavailable(Unavailable):
    code = "web_recorder_unavailable"
    http_status = 503
    title = "The server cannot record web pages"


# -- transcripts ----------------------------------------------------------------------------------


class TranscriptInvalid(BadRequest):
    code = "transcript_invalid"
    http_status = 400
    title = "The transcript is not valid"


class TranscriptConflict(Conflict):
    """Another version was saved first: the client reloads and edits again."""

    code = "transcript_conflict"
    http_status = 409
    title = "Another version of this transcript was saved first"


class TranscriptBusy(Conflict):
    code = "transcript_busy"
    http_status = 409
    title = "This recording is being transcribed already"


class TranscriptMissing(Conflict):
    code = "transcript_missing"
    http_status = 409
    title = "This recording has no transcript yet"


class NotARecording(Conflict):
    code = "not_a_recording"
    http_status = 409
    title = "Only recordings with sound can be transcribed"


class AsrUnavailable(Unavailable):
    code = "asr_unavailable"
    http_status = 503
    title = "This server has no speech recognition model installed"


class AsrFailed(FieldProofError):
    code = "asr_failed"
    http_status = 500
    title = "Speech recognition failed"


class AsrTimeout(FieldProofError):
    code = "asr_timeout"
    http_status = 500
    title = "Speech recognition took too long"


# -- mapping what the system raises ---------------------------------------------------------------
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
