"""An external RFC 3161 TSA over HTTP (RFC 3161 §3.4): the independent witness.

Every reply is checked before it is kept: HTTP 200 with a time-stamp media
type, status granted, our nonce echoed (so a replayed or cached reply is
refused), imprint equal to sha256 of what we sent, and, when trust roots are
configured, the full signature and chain check of
:func:`fieldproof.core.timestamp.verify_token`.

The URL may carry credentials (``https://user:pass@tsa.example``); they are
used for the request but never appear in :attr:`HttpTSA.name`, ``repr`` or an
error message.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Final
from urllib.parse import urlsplit

import httpx

from fieldproof.core.timestamp import make_request, parse_token, verify_token
from fieldproof.errors import TimestampInvalid, TsaUnavailable

MAX_REPLY_BYTES: Final = 64 * 1024
# RFC 3161 names application/timestamp-reply; some deployed TSAs still send the
# pre-RFC draft's name, and their tokens are just as good.
_REPLY_TYPES: Final = frozenset({"application/timestamp-reply",
                                 "application/timestamp-response"})


class HttpTSA:
    embedded: bool = False
    name: str

    def __init__(self, url: str, *, timeout: float = 10,
                 roots_pem: list[bytes] | None = None,
                 intermediates_pem: list[bytes] | None = None) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("TSA URL must be an absolute http(s) URL")
        self._url = url
        self._timeout = timeout
        self._roots = list(roots_pem or [])
        self._intermediates = list(intermediates_pem or [])
        port = f":{parts.port}" if parts.port else ""
        # host, port and path: two TSAs on one host stay apart; no credentials.
        self.name = f"{parts.hostname}{port}{parts.path}".rstrip("/")
        self._safe_url = f"{parts.scheme}://{parts.hostname}{port}{parts.path}"


    @property
    def url(self) -> str:
        """The configured URL as given (it may hold credentials: never log it)."""
        return self._url

    @property
    def public_url(self) -> str:
        """The URL without credentials or query: safe to log and to publish."""
        return self._safe_url

    def chain_pem(self) -> list[bytes]:
        """The configured chain (intermediates, then the root); empty if none given."""
        return [*self._intermediates, *self._roots]

    def stamp(self, data: bytes) -> bytes:
        """POST a request for sha256(data); return the checked DER TimeStampResp."""
        nonce = secrets.randbits(63) | 1  # positive and non-zero: 0 reads as "no nonce"
        request = make_request(data, nonce=nonce, cert_req=True)
        reply = self._post(request)
        try:
            info = parse_token(reply)
        except TimestampInvalid as exc:
            raise TimestampInvalid(f"{self.name}: {exc.detail}") from exc
        if info.nonce != nonce:
            raise TimestampInvalid(f"{self.name}: reply does not echo our nonce "
                                   "(replayed or misrouted reply)")
        if info.hash_alg != "sha256" or info.message_imprint != hashlib.sha256(data).digest():
            raise TimestampInvalid(f"{self.name}: reply time-stamps something else "
                                   "(message imprint differs from the request)")
        if self._roots:
            try:
                verify_token(reply, data, roots_pem=self._roots,
                             intermediates_pem=self._intermediates)
            except TimestampInvalid as exc:
                raise TimestampInvalid(f"{self.name}: {exc.detail}") from exc
        return reply

    def respond(self, request_der: bytes) -> bytes:
        """Send a client-built DER TimeStampReq (pyHanko builds its own) and return
        the raw reply, size-capped and type-checked; the caller checks its token."""
        return self._post(request_der)

    def _post(self, request: bytes) -> bytes:
        headers = {"Content-Type": "application/timestamp-query",
                   "Accept": "application/timestamp-reply"}
        try:
            with httpx.Client(timeout=self._timeout, follow_redirects=False) as client, \
                    client.stream("POST", self._url, content=request,
                                  headers=headers) as resp:
                if resp.status_code != 200:
                    raise TsaUnavailable(f"{self.name} answered HTTP {resp.status_code}")
                ctype = resp.headers.get("content-type", "").split(";")[0].strip().lower()
                if ctype not in _REPLY_TYPES:
                    raise TimestampInvalid(f"{self.name} replied with content type "
                                           f"{ctype or 'none'!r}, not a time-stamp reply")
                body = bytearray()
                for chunk in resp.iter_bytes():
                    body += chunk
                    if len(body) > MAX_REPLY_BYTES:
                        raise TimestampInvalid(f"{self.name} reply exceeds "
                                               f"{MAX_REPLY_BYTES} bytes")
                return bytes(body)
        except httpx.HTTPError as exc:
            # httpx messages can embed the request URL: keep credentials out of
            # the message, and `from None` keeps the original out of tracebacks.
            reason = str(exc).replace(self._url, self._safe_url)
            raise TsaUnavailable(f"{self.name} unreachable: {type(exc).__name__}: "
                                 f"{reason}") from None

    def __repr__(self) -> str:
        return f"HttpTSA({self._safe_url!r}, embedded=False)"


__all__ = ["MAX_REPLY_BYTES", "HttpTSA", "TsaUnavailable"]
