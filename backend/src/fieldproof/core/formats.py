"""Media types: the one table of MIME types and file extensions.

Used to name the original inside a bundle, to name C2PA copies and to read
them back, and by the remuxer for its input files.
"""

from __future__ import annotations

from typing import Final

# What recorders, sniffers and c2pa call the same thing.
ALIASES: Final = {
    "image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg",
    "audio/x-m4a": "audio/mp4", "audio/m4a": "audio/mp4",
    "audio/x-wav": "audio/wav", "audio/wave": "audio/wav", "audio/vnd.wave": "audio/wav",
    "audio/mp3": "audio/mpeg", "audio/x-mp3": "audio/mpeg", "audio/mpeg3": "audio/mpeg",
    "image/x-webp": "image/webp",
}

EXTENSIONS: Final = {
    "image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "image/gif": ".gif",
    "image/heic": ".heic", "image/heif": ".heif", "image/avif": ".avif", "image/tiff": ".tif",
    "image/dng": ".dng", "image/x-adobe-dng": ".dng", "image/jxl": ".jxl",
    "audio/mpeg": ".mp3", "audio/mp4": ".m4a", "audio/wav": ".wav", "audio/flac": ".flac",
    "audio/webm": ".webm", "audio/ogg": ".ogg", "audio/opus": ".opus",
    "audio/x-matroska": ".mka",
    "video/mp4": ".mp4", "video/quicktime": ".mov", "video/x-m4v": ".m4v",
    "video/webm": ".webm", "video/ogg": ".ogv", "video/x-matroska": ".mkv",
    "application/mp4": ".mp4", "application/ogg": ".ogg",
    "video/avi": ".avi", "video/msvideo": ".avi", "video/x-msvideo": ".avi",
    "application/pdf": ".pdf", "text/plain": ".txt",
}

# The formats a C2PA copy in a bundle can have, by extension (derived/c2pa.<ext>).
C2PA_COPY_TYPES: Final = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp",
                          "mp4": "video/mp4", "m4a": "audio/mp4", "mov": "video/quicktime",
                          "wav": "audio/wav", "mp3": "audio/mpeg"}


def normalize(mime: str) -> str:
    """``type/subtype`` in lower case, parameters dropped, aliases resolved."""
    base = mime.split(";")[0].strip().lower()
    return ALIASES.get(base, base)


def extension(mime: str, default: str = ".bin") -> str:
    """The usual file extension of ``mime`` (with its dot)."""
    import mimetypes

    base = normalize(mime)
    return EXTENSIONS.get(base) or mimetypes.guess_extension(base) or default
