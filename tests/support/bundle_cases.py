"""Applying a case of shared/vectors/bundle/cases.json to a bundle (the Python side).

pwa/tests/bundle-cases.test.ts does the same in TypeScript; the ops are
documented in shared/vectors/bundle/make_bundle_vectors.py.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import struct
import warnings
import zipfile
from pathlib import Path
from typing import Any

from fieldproof.bundle.layout import MEDIA_DIR, SUMS, sums_text
from fieldproof.core.canonical import canonicalize, parse_json

VECTORS = Path(__file__).resolve().parents[2] / "shared" / "vectors" / "bundle"
Entries = list[tuple[str, bytes]]


def load_doc() -> dict[str, Any]:
    return json.loads((VECTORS / "cases.json").read_text())


def bundle_zip(doc: dict[str, Any], bundle: str) -> bytes:
    return (VECTORS / doc["bundles"][bundle]["file"]).read_bytes()


def unzip(data: bytes) -> Entries:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return [(i.filename, zf.read(i)) for i in zf.infolist()]


def _get(entries: Entries, name: str) -> bytes:
    found = [d for n, d in entries if n == name]
    assert len(found) == 1, f"{name}: {len(found)} entries"
    return found[0]


def _set(entries: Entries, name: str, data: bytes) -> None:
    i = next(i for i, (n, _) in enumerate(entries) if n == name)
    entries[i] = (name, data)


def _content(m: dict[str, Any], entries: Entries, doc: dict[str, Any]) -> bytes:
    if "text" in m:
        return str(m["text"]).encode()
    if "zeros" in m:
        return bytes(m["zeros"])
    if "copy_of" in m:
        return _get(entries, m["copy_of"])
    if "from_bundle" in m:
        src = m["from_bundle"]
        return _get(unzip(bundle_zip(doc, src["bundle"])), src["member"])
    raise AssertionError(f"no content in {m}")


def _set_path(value: Any, path: list[Any], m: dict[str, Any]) -> Any:
    step, rest = path[0], path[1:]
    if step == "$json":  # the value is JSON text: edit what it says, keep it canonical text
        return canonicalize(_set_path(parse_json(value.encode()), rest, m)).decode()
    if not rest:
        if m.get("delete"):
            del value[step]
        else:
            value[step] = copy.deepcopy(m["value"])
        return value
    value[step] = _set_path(value[step], rest, m)
    return value


def _lines(data: bytes) -> list[str]:
    return data.decode("utf-8").split("\n")


def apply(case: dict[str, Any], doc: dict[str, Any]) -> tuple[Entries, dict[str, Any] | None]:
    """The bundle's files after the case's mutation (and SHA256SUMS, if asked);
    the zip-level damage to do once it is written, if any."""
    entries = unzip(bundle_zip(doc, case["bundle"]))
    m = case["mutation"]
    later = None
    op = m["op"]
    name = m["member"]
    if op == "flip":
        data = bytearray(_get(entries, name))
        data[m["at"]] ^= 0x01
        _set(entries, name, bytes(data))
    elif op == "remove":
        before = len(entries)
        entries = [(n, d) for n, d in entries if n != name]
        assert len(entries) < before, name
    elif op == "add":
        data = _content(m, entries, doc)
        for i in range(m.get("count", 1)):
            entries.append((name.replace("{i}", str(i)), data))
    elif op == "replace":
        _set(entries, name, _content(m, entries, doc))
    elif op == "append":
        _set(entries, name, _get(entries, name) + str(m["text"]).encode())
    elif op == "rename":
        i = next(i for i, (n, _) in enumerate(entries) if n == name)
        entries[i] = (m["to"], entries[i][1])
    elif op == "duplicate":
        entries.append((name, _get(entries, name)))
    elif op == "json_set":
        value = _set_path(parse_json(_get(entries, name)), m["path"], m)
        _set(entries, name, canonicalize(value))
    elif op == "text_replace":
        text = _get(entries, name).decode()
        assert m["find"] in text, m
        _set(entries, name, text.replace(m["find"], m["with"], 1).encode())
    elif op in ("line_set", "line_remove", "line_move", "line_json_set"):
        lines = _lines(_get(entries, name))
        i = m["line"]
        assert 0 <= i < len(lines) - 1, m
        if op == "line_set":
            lines[i] = m["text"]
        elif op == "line_remove":
            del lines[i]
        elif op == "line_move":
            lines.insert(m["to"], lines.pop(i))
        else:
            lines[i] = canonicalize(_set_path(parse_json(lines[i].encode()), m["path"], m)
                                    ).decode()
        _set(entries, name, "\n".join(lines).encode())
    elif op == "zip_flip":
        later = m
    else:
        raise AssertionError(f"unknown op {op}")
    if case["sums"] == "update":
        digests = {n: hashlib.sha256(d).hexdigest() for n, d in entries if n != SUMS}
        _set(entries, SUMS, sums_text(digests))
    return entries, later


def write_zip(entries: Entries, damage: dict[str, Any] | None = None) -> bytes:
    """A zip of the entries in order: media and empty files STORED, the rest DEFLATED."""
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Duplicate name": a case asks for one
        with zipfile.ZipFile(buf, "w") as zf:
            for name, data in entries:
                info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
                stored = name.startswith(MEDIA_DIR) or not data
                info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
                zf.writestr(info, data)
    out = bytearray(buf.getvalue())
    if damage is not None:
        with zipfile.ZipFile(io.BytesIO(bytes(out))) as zf:
            info = zf.getinfo(damage["member"])
        at = info.header_offset
        name_len, extra_len = struct.unpack("<HH", out[at + 26:at + 30])
        out[at + 30 + name_len + extra_len + damage["at"]] ^= 0x01
    return bytes(out)
