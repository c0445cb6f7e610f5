"""The offline bundle verifier's pure parts: layout helpers, streaming, unusable input."""

from __future__ import annotations

import hashlib
import io
import os
from typing import IO, Any

import pytest

from fieldproof.bundle import layout as b
from fieldproof.bundle import verify as v
from fieldproof.bundle.layout import safe_name, sums_text
from fieldproof.bundle.read import MemoryBundle
from fieldproof.bundle.verify import verify_bundle
from fieldproof.errors import BundleUnusable


def test_safe_name() -> None:
    assert safe_name("FieldProof embedded TSA") == "FieldProof_embedded_TSA"
    assert safe_name("https://tsa.example/tsr?x=1") == "https_tsa.example_tsr_x_1"
    assert safe_name("../../etc/passwd") == "etc_passwd"
    assert safe_name("..", default="original") == "original"
    assert safe_name("photo 1.JPG") == "photo_1.JPG"
    assert len(safe_name("a" * 500)) == 100


def test_sums_text_is_sha256sum_format() -> None:
    text = sums_text({"b.txt": "11" * 32, "a/x.bin": "22" * 32})
    assert text == f"{'22' * 32}  a/x.bin\n{'11' * 32}  b.txt\n".encode()


def test_media_hashed_in_slices_across_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(v, "BLOCK", 7)
    data = os.urandom(100)
    sizes = [3, 20, 0, 50, 27, 0]
    out = v.hash_stream(io.BytesIO(data), sizes)
    assert out.sha256 == hashlib.sha256(data).hexdigest() and out.size == 100
    offsets = [sum(sizes[:i]) for i in range(len(sizes))]
    assert out.slices == [hashlib.sha256(data[o:o + n]).hexdigest()
                          for o, n in zip(offsets, sizes, strict=True)]
    # fewer bytes than the slices claim: the count differs, which the chunk check reports
    assert len(v.hash_stream(io.BytesIO(data[:90]), sizes).slices) == 4


class _Reader:
    """Records how the media is read; one member can be made unreadable."""

    def __init__(self, files: dict[str, bytes], broken: str | None = None) -> None:
        self.files, self.broken, self.reads = files, broken, []  # type: ignore[var-annotated]

    def names(self) -> list[str]:
        return list(self.files)

    def open(self, name: str) -> IO[bytes]:
        if name == self.broken:
            raise OSError("CRC mismatch (injected)")
        reader = self

        class F(io.BytesIO):
            def read(self, n: Any = -1) -> bytes:
                reader.reads.append((name, n))
                return super().read(n)
        return F(self.files[name])


BASE = {n: b"{}" for n in b.REQUIRED} | {"media/original.bin": os.urandom(3000)}


def test_unusable_input_raises() -> None:
    with pytest.raises(BundleUnusable, match=r"manifest\.json"):
        verify_bundle({k: v for k, v in BASE.items() if k != "manifest.json"})
    with pytest.raises(BundleUnusable, match="exactly one media"):
        verify_bundle({**BASE, "media/second": b"x"})
    with pytest.raises(BundleUnusable, match="several files"):
        verify_bundle(_DupReader())
    # a zip bomb: many members that each stay under the per-file limit
    bomb = {**BASE, **{f"extra/{i}": bytes(1 << 20) for i in range(300)}}
    with pytest.raises(BundleUnusable, match="inflate to more than"):
        verify_bundle(bomb)
    with pytest.raises(BundleUnusable, match="at most 10000"):
        verify_bundle({**BASE, **{f"x/{i}": b"" for i in range(10_001)}})


class _DupReader(MemoryBundle):
    def __init__(self) -> None:
        super().__init__(BASE)

    def names(self) -> list[str]:
        return [*BASE, "manifest.json"]


def test_garbage_bundle_fails_every_check_without_crashing() -> None:
    report = verify_bundle(BASE)
    assert not report.ok
    failed = {r.name for r in report.failed()}
    assert {"SHA256SUMS", "manifest", "device_key", "signature", "log_entry", "media",
            "checkpoint", "inclusion", "timestamp", "custody"} <= failed


def test_media_streamed_in_blocks_and_read_errors_reported() -> None:
    reader = _Reader(dict(BASE))
    verify_bundle(reader)
    media_reads = [n for name, n in reader.reads if name == "media/original.bin"]
    assert media_reads and all(0 < n <= b.BLOCK for n in media_reads)
    report = verify_bundle(_Reader(dict(BASE), broken="receipt.json"))
    assert any(r.name == "read" and r.detail.startswith("receipt.json") for r in
               report.failed())
