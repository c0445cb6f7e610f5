"""Time-stamp authorities that sign Merkle-log checkpoints (RFC 3161).

:class:`EmbeddedTSA` is the self-hosted default and always available; it is
labelled ``embedded = True`` because it witnesses nothing beyond this server.
:class:`HttpTSA` asks an external TSA and is the independent evidence.
Both return a DER TimeStampResp over sha256 of the exact bytes given.
"""

from __future__ import annotations

from typing import Protocol

from .embedded import EMBEDDED_POLICY_OID, EmbeddedTSA
from .http import HttpTSA, TsaUnavailable


class TimestampAuthority(Protocol):
    name: str
    embedded: bool

    def stamp(self, data: bytes) -> bytes: ...

    def respond(self, request_der: bytes) -> bytes: ...


__all__ = ["EMBEDDED_POLICY_OID", "EmbeddedTSA", "HttpTSA", "TimestampAuthority",
           "TsaUnavailable"]
