"""A small HTTP client for the API and a device key kept in a PEM file.

Used by the CLI (`fieldproof client ...`), by tests and by benchmarks. The
device key signs with `cryptography` (constant-time) and emits raw r||s like
WebCrypto; the server verifies with python-ecdsa, so every CLI capture is a
cross-library check.
"""

from __future__ import annotations

import json
import locale
import mimetypes
import os
import platform
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from fieldproof import __version__
from fieldproof.core.canonical import canonicalize
from fieldproof.core.encoding import b64url_encode
from fieldproof.core.files import file_sha256
from fieldproof.core.keys import jwk_thumbprint
from fieldproof.core.manifest import (
    MANIFEST_HEADER,
    MAX_MANIFEST_HEADER,
    SIGNATURE_HEADER,
    new_manifest,
)
from fieldproof.core.media import sniff_mime
from fieldproof.errors import FieldProofError
from fieldproof.storage.keyfiles import create_once

USER_AGENT = f"fieldproof-cli/{__version__} Python/{platform.python_version()}"


class ClientError(FieldProofError):
    """The server said no, or could not be reached: on the client's side of the wire.

    ``code`` is the server's problem code when it answered (any of them, so it is
    set per instance), else a client-side one (``unreachable``, ``key_missing``,
    ...). ``exit_status`` is what the CLI exits with: 1 for a refusal, 2 when
    the command could not do its job at all.
    """

    title = "Request failed"

    def __init__(self, detail: str | None = None, *, code: str = "client_error",
                 http_status: int | None = None, exit_status: int = 1, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.code = code  # type: ignore[misc]
        if http_status is not None:
            self.http_status = http_status  # type: ignore[misc]
        self.exit_status = exit_status


@dataclass
class DeviceKeyFile:
    path: Path
    key: ec.EllipticCurvePrivateKey

    @classmethod
    def load_or_create(cls, path: Path, *, create: bool = False) -> DeviceKeyFile:
        if path.exists():
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
            if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
                raise ClientError(f"{path} is not a P-256 private key", code="key_invalid",
                                  exit_status=2)
            return cls(path, key)
        if not create:
            raise ClientError(f"no device key at {path}; run `fieldproof client enroll`",
                              code="key_missing", exit_status=2)
        create_once(path, lambda: ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
        return cls.load_or_create(path)

    @property
    def jwk(self) -> dict[str, str]:
        nums = self.key.public_key().public_numbers()
        return {"kty": "EC", "crv": "P-256", "x": b64url_encode(nums.x.to_bytes(32, "big")),
                "y": b64url_encode(nums.y.to_bytes(32, "big"))}

    @property
    def key_id(self) -> str:
        return jwk_thumbprint(self.jwk)

    def sign(self, message: bytes) -> bytes:
        """ECDSA P-256/SHA-256 over ``message``, as 64 raw bytes r||s."""
        r, s = decode_dss_signature(self.key.sign(message, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    # The device's chain head, kept beside the key so a lost server answer
    # never makes the client guess.
    @property
    def _state_path(self) -> Path:
        return self.path.with_name(self.path.name + ".state.json")

    def chain_head(self) -> str | None:
        try:
            return json.loads(self._state_path.read_text()).get("head")  # type: ignore[no-any-return]
        except FileNotFoundError:
            return None

    def has_state(self) -> bool:
        return self._state_path.exists()

    def set_chain_head(self, head: str) -> None:
        tmp = self._state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"head": head, "key_id": self.key_id}))
        os.replace(tmp, self._state_path)


def device_metadata() -> dict[str, Any]:
    lang = (locale.getlocale()[0] or "en_US").replace("_", "-")
    tz = datetime.now().astimezone().tzinfo
    return {"user_agent": USER_AGENT, "ua_hints": None,
            "platform": f"{platform.system()} {platform.machine()}", "screen": None,
            "app_version": f"fieldproof-cli/{__version__}",
            "timezone": os.environ.get("TZ") or (str(tz) if tz else "UTC"),
            "language": lang}


def guess_mime(path: Path) -> str:
    with path.open("rb") as fh:
        sniffed = sniff_mime(fh.read(8192))
    return sniffed or mimetypes.guess_type(path.name)[0] or "application/octet-stream"


GATEWAY_ERRORS = (502, 504)


class Client:
    def __init__(self, server: str, token: str | None, *, timeout: float = 60.0,
                 retry_for: float = 30.0) -> None:
        self.server = server.rstrip("/")
        # How long to keep retrying when the server cannot be reached (it may
        # be restarting). Every call here is safe to repeat: uploads and
        # enrollments are idempotent, and an extra nonce is harmless.
        self.retry_for = retry_for
        headers = {"User-Agent": USER_AGENT}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.http = httpx.Client(base_url=self.server + "/api/v1", headers=headers,
                                 timeout=httpx.Timeout(timeout, connect=10.0))

    def close(self) -> None:
        self.http.close()

    def _call(self, method: str, url: str, **kw: Any) -> httpx.Response:
        deadline = time.monotonic() + self.retry_for
        delay = 0.1
        while True:
            for f in (kw.get("files") or {}).values():
                f[1].seek(0)  # a retried upload starts from the first byte again
            if hasattr(kw.get("content"), "seek"):
                kw["content"].seek(0)
            try:
                resp = self.http.request(method, url, **kw)
                # 502/504: a proxy in front could not reach the server (a node of a
                # cluster that just died; the next try goes to another): the same
                # as not reaching it, and the server itself never answers them.
                if resp.status_code not in GATEWAY_ERRORS or \
                        time.monotonic() + delay > deadline:
                    break
            except httpx.TransportError as exc:
                if time.monotonic() + delay > deadline:
                    raise ClientError(f"cannot reach {self.server}: {exc}", code="unreachable",
                                      exit_status=2) from exc
            time.sleep(delay)  # a retry backoff
            delay = min(2.0, delay * 2)
        if resp.status_code >= 400:
            try:
                body = resp.json()
                raise ClientError(body.get("detail") or body.get("title"),
                                  code=body.get("code", "http_error"), http_status=resp.status_code)
            except ValueError:
                raise ClientError(f"HTTP {resp.status_code}: {resp.text[:200]}",
                                  code="http_error", http_status=resp.status_code) from None
        return resp

    def enroll(self, key: DeviceKeyFile, label: str = "") -> dict[str, Any]:
        return self._call("POST", "/devices", json={"jwk": key.jwk, "label": label}).json()  # type: ignore[no-any-return]

    def device(self, key_id: str) -> dict[str, Any] | None:
        for d in self._call("GET", "/devices").json()["items"]:
            if d["key_id"] == key_id:
                return d  # type: ignore[no-any-return]
        return None

    def nonce(self) -> dict[str, Any]:
        return self._call("POST", "/nonces").json()  # type: ignore[no-any-return]

    def receipt(self, capture_id: str) -> dict[str, Any]:
        return self._call("GET", f"/captures/{capture_id}/receipt").json()  # type: ignore[no-any-return]

    def export(self, capture_id: str, dest: Path) -> int:
        """Download the capture's evidence bundle (zip) to ``dest``; returns its size."""
        return self.download(f"/captures/{capture_id}/bundle", dest)

    def download(self, path: str, dest: Path) -> int:
        """Stream ``GET path`` to ``dest`` (via ``dest.part``); returns its size."""
        tmp = dest.with_name(dest.name + ".part")
        try:
            with self.http.stream("GET", path) as resp:
                if resp.status_code >= 400:
                    resp.read()
                    try:
                        body = resp.json()
                    except ValueError:
                        body = {}
                    raise ClientError(body.get("detail") or f"HTTP {resp.status_code}",
                                      code=body.get("code", "http_error"),
                                      http_status=resp.status_code)
                size = 0
                with tmp.open("wb") as out:
                    for block in resp.iter_bytes(1 << 20):
                        out.write(block)
                        size += len(block)
        except httpx.TransportError as exc:
            raise ClientError(f"cannot reach {self.server}: {exc}", code="unreachable",
                              exit_status=2) from exc
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        tmp.replace(dest)
        return size

    # -- cases -------------------------------------------------------------
    def create_case(self, title: str, *, parties: list[dict[str, str]] | None = None,
                    note: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"title": title}
        if parties:
            body["parties"] = parties
        if note is not None:
            body["note"] = note
        return self._call("POST", "/cases", json=body).json()  # type: ignore[no-any-return]

    def add_case_item(self, case_id: str, capture_id: str, *, title: str | None = None,
                      purpose: str | None = None) -> dict[str, Any]:
        body = {"capture_id": capture_id}
        body.update({k: v for k, v in (("title", title), ("purpose", purpose))
                     if v is not None})
        return self._call("POST", f"/cases/{case_id}/items",  # type: ignore[no-any-return]
                          json=body).json()

    def cases(self) -> list[dict[str, Any]]:
        return self._call("GET", "/cases").json()["items"]  # type: ignore[no-any-return]

    def case(self, case_id: str) -> dict[str, Any]:
        return self._call("GET", f"/cases/{case_id}").json()  # type: ignore[no-any-return]

    def export_case(self, case_id: str, dest: Path) -> int:
        """Download the case export (zip) to ``dest``; returns its size."""
        return self.download(f"/cases/{case_id}/export", dest)

    def log_info(self) -> dict[str, Any]:
        return self._call("GET", "/log").json()  # type: ignore[no-any-return]

    def get_json(self, path: str, **params: Any) -> Any:
        return self._call("GET", path, params=params).json()

    def get_text(self, path: str, **params: Any) -> str:
        return self._call("GET", path, params=params).text

    def post_json(self, path: str, body: Any) -> Any:
        return self._call("POST", path, json=body).json()

    def transcribe(self, capture_id: str, *, language: str | None = None,
                   timeout: float = 3600.0, progress: Any = None) -> dict[str, Any]:
        """Ask for a machine transcript of a recording and wait for it; returns
        GET /captures/{id}/transcript once the job is done. Raises ClientError
        with the job's code when it failed, or ``transcript_timeout``."""
        import time

        path = f"/captures/{capture_id}/transcript"
        job = self._call("POST", path, json={"language": language} if language else {}).json()
        deadline = time.monotonic() + timeout
        while True:
            state = self._call("GET", path).json()
            job = state.get("job") or job
            if progress is not None:
                progress(job)
            if job["state"] == "done":
                return state  # type: ignore[no-any-return]
            if job["state"] == "failed":
                raise ClientError(f"the transcription failed ({job.get('code')})",
                                  code=str(job.get("code") or "asr_failed"))
            if time.monotonic() > deadline:
                raise ClientError(f"no transcript after {timeout:.0f} s",
                                  code="transcript_timeout")
            time.sleep(1.0)

    def web_capture(self, body: dict[str, Any], *, confirm: bool = False,
                    timeout: float = 7200.0,
                    progress: Any = None) -> dict[str, Any]:
        """Create a web capture task and wait for it; returns the task (GET
        /web-captures/{id}) once it awaits confirmation (or, with ``confirm``,
        is confirmed) and its capture is anchored. Raises ClientError when it
        failed (code ``web_capture_failed``) or took longer than ``timeout``."""
        import time

        task = self.post_json("/web-captures", body)
        deadline = time.monotonic() + timeout
        seen = None
        while True:
            if task["status"] != seen and progress is not None:
                progress(task)
            seen = task["status"]
            if task["status"] == "failed":
                reason = task.get("reason") or {}
                raise ClientError(f"the web capture failed: {reason.get('code')}: "
                                  f"{reason.get('detail')}", code="web_capture_failed",
                                  task=task)
            if task["status"] == "awaiting_confirmation" and confirm:
                task = self.post_json(f"/web-captures/{task['id']}/confirm", {})
                continue
            if task["status"] in ("awaiting_confirmation", "confirmed", "abandoned") and \
                    self.capture(task["capture_id"])["status"] == "anchored":
                return task  # type: ignore[no-any-return]
            if time.monotonic() > deadline:
                raise ClientError(f"the web capture is still {task['status']} after "
                                  f"{timeout:.0f} s", code="timeout", exit_status=2)
            time.sleep(1.0)
            task = self.get_json(f"/web-captures/{task['id']}")

    def capture(self, capture_id: str) -> dict[str, Any]:
        return self._call("GET", f"/captures/{capture_id}").json()  # type: ignore[no-any-return]

    def upload(self, manifest: bytes, signature: bytes, path: Path,
               mime: str) -> dict[str, Any]:
        """POST /captures: the media as the body, streamed from disk, with the
        manifest and signature in headers; a manifest too long for a header
        goes as a multipart form (shared/PROTOCOL.md, Upload)."""
        encoded = b64url_encode(manifest)
        with path.open("rb") as fh:
            if len(encoded) <= MAX_MANIFEST_HEADER:
                resp = self._call("POST", "/captures", content=fh, headers={
                    "Content-Type": mime, MANIFEST_HEADER: encoded,
                    SIGNATURE_HEADER: b64url_encode(signature)})
            else:
                resp = self._call("POST", "/captures",
                                  data={"manifest": manifest.decode("utf-8"),
                                        "signature": b64url_encode(signature)},
                                  files={"media": (path.name, fh, mime)})
        return resp.json()  # type: ignore[no-any-return]

    def capture_file(self, key: DeviceKeyFile, path: Path, *, kind: str,
                     geo: dict[str, Any] | None = None, mime: str | None = None,
                     started: datetime | None = None) -> dict[str, Any]:
        """Sign and upload one file; returns GET /captures/{id} of the result."""
        nonce = self.nonce()
        start = started or datetime.now(UTC)
        sha, size = file_sha256(path)
        if not key.has_state():
            dev = self.device(key.key_id)
            if dev is None:
                raise ClientError("this key is not enrolled; run `fieldproof client enroll`",
                                  code="device_unknown", exit_status=2)
            prev = dev["head_manifest"]
        else:
            prev = key.chain_head()
        manifest = new_manifest(kind=kind, sha256=sha, size=size, mime=mime or guess_mime(path),
                                start=start, end=datetime.now(UTC), nonce=nonce["nonce"],
                                key_id=key.key_id, prev=prev, device=device_metadata(), geo=geo,
                                name=path.name[:255] if kind == "import" else None)
        canonical = canonicalize(manifest)
        result = self.upload(canonical, key.sign(canonical), path, manifest["media"]["mime"])
        key.set_chain_head(result["manifest_hash"])
        return self.capture(result["id"])
