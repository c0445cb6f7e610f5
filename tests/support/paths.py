"""Where the repository and its shared test vectors are."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "shared" / "vectors"  # project copy of the public vectors (see UPSTREAM.md)
