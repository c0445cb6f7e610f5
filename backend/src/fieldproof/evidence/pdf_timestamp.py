"""pyHanko TimeStampers over this server's TSAs, for the certificate PDF's PAdES B-T stamp.

pyHanko builds its own DER TimeStampReq (nonce, cert_req, the digest of the
CMS signature value) and checks the reply's status and nonce itself
(``TimeStamper.async_timestamp``); an adapter only has to carry request bytes
to a TSA and parse what comes back, which is the one hook pyHanko leaves open:
``async_request_tsa_response``.

Order matters: an external TSA is an independent witness of when the
certificate was signed, the embedded TSA only repeats this server's clock, so
:func:`timestampers_for` lists external TSAs first and the embedded one last,
as the fallback.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from asn1crypto import tsp
from pyhanko.sign.timestamps import TimeStamper, TimestampRequestError

from fieldproof.errors import FieldProofError
from fieldproof.tsa import TimestampAuthority, in_signing_order

Responder = Callable[[bytes], bytes]  # DER TimeStampReq -> DER TimeStampResp


class ResponderTimeStamper(TimeStamper):  # type: ignore[misc]  # untyped base
    """A pyHanko TimeStamper that hands the DER request to a callable.

    ``name`` and ``embedded`` travel with it so the caller can say which TSA
    stamped a document and whether that TSA is independent of this server.
    """

    def __init__(self, respond: Responder, *, name: str, embedded: bool) -> None:
        super().__init__(include_nonce=True)  # type: ignore[no-untyped-call]
        self._respond = respond
        self.name = name
        self.embedded = embedded

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        # The responders are blocking (a signature, or an HTTP round trip):
        # run them off the event loop pyHanko's sync API spins up.
        try:
            reply = await asyncio.to_thread(self._respond, req.dump())
        except FieldProofError as exc:
            # pyHanko treats IOError subclasses as "this TSA failed"; keep the
            # stable code in the message for whoever logs it.
            raise TimestampRequestError(f"{self.name}: {exc.code}: {exc.detail}") from exc
        return _checked(reply, req, self.name)

    def __repr__(self) -> str:
        return f"ResponderTimeStamper(name={self.name!r}, embedded={self.embedded})"


def _checked(reply: bytes, req: tsp.TimeStampReq, name: str) -> tsp.TimeStampResp:
    """The parsed reply, if it answers this request: same imprint, same nonce.

    pyHanko checks neither well enough: it ignores the imprint (a token over
    something else would give a PDF whose timestamp never validates), and its
    nonce check crashes with AttributeError on a mismatch (0.38:
    ``int.hex()`` in handle_tsp_response) instead of raising the IOError a
    caller can fall back on. So both are checked here first. Only the fields
    needed are decoded: ``.native`` on the whole reply makes asn1crypto
    re-encode it from scratch later, which costs seconds.
    """
    try:
        resp = tsp.TimeStampResp.load(reply)
        if resp["status"]["status"].native != "granted":
            return resp  # pyHanko reports the refusal with the TSA's own reason
        info = resp["time_stamp_token"]["content"]["encap_content_info"]["content"].parsed
        got = info["message_imprint"]
    except (ValueError, TypeError, KeyError) as exc:
        raise TimestampRequestError(f"{name}: reply is not a TimeStampResp") from exc
    want = req["message_imprint"]
    if (got["hash_algorithm"]["algorithm"].native != want["hash_algorithm"]["algorithm"].native
            or got["hashed_message"].native != want["hashed_message"].native):
        raise TimestampRequestError(f"{name}: reply time-stamps something else "
                                    "(message imprint differs from the request)")
    if info["nonce"].native != req["nonce"].native:
        raise TimestampRequestError(f"{name}: reply does not echo our nonce "
                                    "(replayed or misrouted reply)")
    return resp


# One TimeStamper per TSA for the TSA's lifetime: pyHanko sizes the signature
# with a "dummy" token it fetches once per TimeStamper and then caches, so a
# fresh TimeStamper per certificate would cost every external TSA two requests.
_CACHE: weakref.WeakKeyDictionary[Any, ResponderTimeStamper] = weakref.WeakKeyDictionary()
_CACHE_LOCK = threading.Lock()


def timestamper_for(tsa: TimestampAuthority) -> ResponderTimeStamper:
    """The pyHanko TimeStamper for one of the server's TSAs (one per TSA, reused)."""
    with _CACHE_LOCK:
        cached = _CACHE.get(tsa)
        if cached is not None:
            return cached
        stamper = ResponderTimeStamper(tsa.respond, name=tsa.name, embedded=tsa.embedded)
        _CACHE[tsa] = stamper
        return stamper


def timestampers_for(tsas: Sequence[TimestampAuthority]) -> list[ResponderTimeStamper]:
    """TimeStampers in the order to try them: external TSAs first, the embedded last."""
    return [timestamper_for(t) for t in in_signing_order(tsas)]


__all__ = ["ResponderTimeStamper", "timestamper_for", "timestampers_for"]
