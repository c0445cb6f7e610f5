from .engine import Database
from .models import (
    ApiToken,
    Base,
    Capture,
    Device,
    LogCheckpoint,
    LogEntry,
    LogNode,
    LogState,
    LogTimestamp,
    Nonce,
    Stream,
    StreamChunk,
    User,
)

__all__ = ["ApiToken", "Base", "Capture", "Database", "Device", "LogCheckpoint", "LogEntry",
           "LogNode", "LogState", "LogTimestamp", "Nonce", "Stream", "StreamChunk", "User"]
