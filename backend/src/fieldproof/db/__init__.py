from fieldproof.db.engine import Database
from fieldproof.db.models import (
    ApiToken,
    Base,
    Capture,
    CustodyEvent,
    Device,
    LogCheckpoint,
    LogEntry,
    LogNode,
    LogState,
    LogTimestamp,
    Nonce,
    ObjectPin,
    StoredObject,
    Stream,
    StreamChunk,
    User,
)

__all__ = ["ApiToken", "Base", "Capture", "CustodyEvent", "Database", "Device",
           "LogCheckpoint", "LogEntry", "LogNode", "LogState", "LogTimestamp", "Nonce", "ObjectPin",
           "StoredObject", "Stream", "StreamChunk", "User"]
