"""Time-stamp authorities that sign Merkle-log checkpoints (RFC 3161).

:class:`EmbeddedTSA` is the self-hosted default and always available; it is
labelled ``embedded = True`` because it witnesses nothing beyond this server.
:class:`HttpTSA` asks an external TSA and is the independent evidence.
Both return a DER TimeStampResp over sha256 of the exact bytes given.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeVar

from fieldproof.errors import TsaUnavailable
from fieldproof.tsa.embedded import EMBEDDED_POLICY_OID, EmbeddedTSA
from fieldproof.tsa.http import HttpTSA


class TimestampAuthority(Protocol):
    name: str
    embedded: bool

    def stamp(self, data: bytes) -> bytes: ...

    def respond(self, request_der: bytes) -> bytes: ...


T = TypeVar("T", bound=TimestampAuthority)


def in_signing_order(tsas: Sequence[T]) -> list[T]:
    """Who to ask first when signing something: the external, independent TSAs in
    their configured order, then the embedded one as the fallback."""
    return sorted(tsas, key=lambda t: bool(t.embedded))  # stable: config order kept


__all__ = ["EMBEDDED_POLICY_OID", "EmbeddedTSA", "HttpTSA", "TimestampAuthority",
           "TsaUnavailable", "in_signing_order"]
