"""The evidence bundle's layout: every member it may hold, defined once.

The writer (evidence/export.py), the Python verifier (verify.py) and the test
vectors (shared/vectors/bundle) import these names; the browser verifier
(pwa/src/verify/bundle.ts) mirrors them, and the shared case file checks that
both refuse the same bundles.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
DEVICE_KEY = "device.jwk"
CHUNKS = "chunks.json"
LOG_ENTRY = "log-entry.json"
RECEIPT = "receipt.json"
CHECKPOINT = "checkpoint.txt"
LOG_VKEY = "keys/log.vkey"
CUSTODY = "custody.jsonl"
CUSTODY_CHECKPOINT = "custody-checkpoint.txt"
CUSTODY_CONSISTENCY = "custody-consistency.json"
CERTIFICATE = "certificate.pdf"
SERVER_CA = "keys/server-ca.pem"
SUMS = "SHA256SUMS"
# The server's detached CMS signature over SHA256SUMS (evidence/sums_signature.py).
SUMS_SIGNATURE = "SHA256SUMS.p7s"
README = "VERIFY.md"
# The two checkpoints with the witnesses' cosignatures appended (C2SP signed
# notes), when they have any; the files above stay the log's own notes, which
# the RFC 3161 tokens cover. And the configured witnesses' keys, for reference:
# a verifier pins its own (--witness).
COSIGNED_CHECKPOINT = "cosigned/checkpoint.txt"
COSIGNED_CUSTODY_CHECKPOINT = "cosigned/custody-checkpoint.txt"
WITNESS_VKEYS = "keys/witnesses.vkey"
# A web capture (manifest kind "web"): the files its manifest lists besides the
# video, and the certificate of the server's recorder key that signed it.
WEB_DIR = "web/"
WEB_FILES = ("environment.json", "screenshot-start.png", "screenshot-end.png", "page.mhtml",
             "traffic.warc.gz", "stream.ts")
WEB_RECORDER_CERT = "keys/web-recorder.pem"
# A recording's transcript versions (shared/PROTOCOL.md, Transcripts): v<N>.json,
# v<N>.sig and, for a human version, v<N>.jwk; their log leaves; the 文字稿 of the
# newest; and the server's transcriber certificate when a machine made one.
TRANSCRIPT_DIR = "transcript/"
TRANSCRIPT_LOG = "transcript/log.jsonl"
TRANSCRIPT_PDF = "transcript.pdf"
TRANSCRIBER_CERT = "keys/transcriber.pem"
TRANSCRIPT_FILE = re.compile(r"transcript/v([1-9][0-9]{0,5})\.(json|sig|jwk)")
MEDIA_DIR = "media/"
DERIVED_DIR = "derived/"
TIMESTAMP_DIR = "timestamps/"
TSA_KEY_DIR = "keys/tsa/"

REQUIRED = (MANIFEST, SIGNATURE, DEVICE_KEY, LOG_ENTRY, RECEIPT, CHECKPOINT, SUMS)
FIXED = frozenset({*REQUIRED, LOG_VKEY, CHUNKS, CUSTODY, CUSTODY_CHECKPOINT,
                   CUSTODY_CONSISTENCY, CERTIFICATE, SERVER_CA, README, SUMS_SIGNATURE,
                   COSIGNED_CHECKPOINT, COSIGNED_CUSTODY_CHECKPOINT, WITNESS_VKEYS,
                   WEB_RECORDER_CERT, *(WEB_DIR + n for n in WEB_FILES),
                   TRANSCRIPT_LOG, TRANSCRIPT_PDF, TRANSCRIBER_CERT})
RECEIPT_MEMBERS = frozenset({"leaf_index", "tree_size", "leaf_hash", "inclusion_proof",
                             "origin"})
# Conveniences the server makes from a JPEG original: shown, never evidence.
CONVENIENCES = (DERIVED_DIR + "display.jpg", DERIVED_DIR + "privacy.jpg")

# Limits a reader enforces before reading (a zip bomb is not a bundle).
BLOCK = 1 << 20
MAX_SMALL_FILE = 64 << 20  # every member but the media is read whole
MAX_SMALL_TOTAL = 256 << 20  # ... and all of them together
MAX_FILES = 10_000
# Members hashed in blocks like the media, never read whole (a WARC, a stream).
STREAMED = frozenset(WEB_DIR + n for n in WEB_FILES if n != "environment.json")

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(text: str, default: str = "file", limit: int = 100) -> str:
    """A file name that is the same on every system: [A-Za-z0-9._-], no leading dot."""
    name = _SAFE.sub("_", text).strip("._-")[:limit].strip("._-")
    return name or default


def is_member(name: str, media_name: str | None) -> bool:
    """Whether the layout has a place for ``name`` (the media's own name given)."""
    return (name in FIXED or name == media_name
            or (name.startswith(TIMESTAMP_DIR) and name.count("/") == 1)
            or (name.startswith(TSA_KEY_DIR) and name.endswith(".pem") and name.count("/") == 2)
            or name in CONVENIENCES
            or TRANSCRIPT_FILE.fullmatch(name) is not None
            or (name.startswith(DERIVED_DIR + "c2pa.") and name.count("/") == 1))


def sums_text(digests: Mapping[str, str]) -> bytes:
    """``sha256sum -c`` input: ``<hex>  <name>`` per file, sorted by name."""
    return "".join(f"{digests[n]}  {n}\n" for n in sorted(digests)).encode()


SUM_LINE = re.compile(r"([0-9a-f]{64}) [ *]([^\r\n]+)")


# The certificate PDF names what it certifies in its signed /Keywords.
def certificate_keywords(capture_id: str, manifest_sha256: str, media_sha256: str) -> str:
    return (f"fieldproof-capture:{capture_id} manifest-sha256:{manifest_sha256} "
            f"media-sha256:{media_sha256}")


def parse_certificate_keywords(text: str) -> dict[str, str]:
    """``{"fieldproof-capture": id, "manifest-sha256": hex, "media-sha256": hex}``."""
    return dict(w.split(":", 1) for w in text.split() if ":" in w)
