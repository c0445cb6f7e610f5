"""The fast schema check (fastjsonschema, draft 7) and jsonschema (2020-12) agree:
the fast one may only accept what jsonschema accepts (core/manifest.validate)."""

from __future__ import annotations

import json
from typing import Any

import fastjsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from fieldproof.core.manifest import _fast, schema, validate
from tests.support.paths import VECTORS

SCHEMAS = ("manifest-v1", "chunk-v2", "stream-header-v2", "transcript-v1")
CHUNK = {"v": 2, "type": "fieldproof.chunk", "stream": "a" * 64, "seq": 5, "size": 16384,
         "sha256": "b" * 64, "chain": "c" * 64, "at": "2026-12-03T18:00:00.123Z",
         "geo": {"lat": 31.2, "lon": 121.5, "accuracy": 12.0,
                 "fixed_at": "2026-12-03T17:59:58Z"}}


def _fast_ok(doc: Any, name: str) -> bool:
    try:
        _fast(name)(doc)
        return True
    except fastjsonschema.JsonSchemaException:
        return False


def _slow_ok(doc: Any, name: str) -> bool:
    return Draft202012Validator(schema(name)).is_valid(doc)


@pytest.mark.parametrize("vector", [v for v in json.loads(
    (VECTORS / "manifest" / "vectors.json").read_text())["manifests"] if "manifest" in v],
    ids=lambda v: str(v["id"]))
def test_agree_on_the_manifest_vectors(vector: dict[str, Any]) -> None:
    doc = vector["manifest"]
    assert _fast_ok(doc, "manifest-v1") == _slow_ok(doc, "manifest-v1")
    assert (validate(doc) == []) == _slow_ok(doc, "manifest-v1")


_values = st.one_of(
    st.none(), st.booleans(), st.integers(-2, 2**25), st.floats(allow_nan=False),
    st.text(max_size=70),
    st.sampled_from(["a" * 64, "A" * 64, "2026-12-03T18:00:00Z", "2026-13-03T18:00:00Z", 2,
                     2.0, "2", "fieldproof.chunk", -90.5, 360, 361]),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))


@settings(max_examples=400, deadline=None)
@given(field=st.sampled_from([*CHUNK, "extra"]), value=_values,
       geo_field=st.sampled_from([*CHUNK["geo"], "altitude", "heading", "speed", "other"]),
       geo_value=_values, drop=st.booleans())
def test_agree_on_mutated_chunk_headers(field: str, value: Any, geo_field: str,
                                        geo_value: Any, drop: bool) -> None:
    doc: dict[str, Any] = json.loads(json.dumps(CHUNK))
    if drop:
        doc.pop(field, None)
    else:
        doc[field] = value
    if isinstance(doc.get("geo"), dict):
        doc["geo"][geo_field] = geo_value
    assert _fast_ok(doc, "chunk-v2") == _slow_ok(doc, "chunk-v2"), doc


@pytest.mark.parametrize("name", SCHEMAS)
def test_every_schema_compiles_for_the_fast_check(name: str) -> None:
    assert _fast_ok({}, name) is False  # and an empty object is no document of ours


# Every schema, mutated anywhere: one value set, dropped or added at any depth.
TRANSCRIPT = {
    "v": 1, "type": "fieldproof.transcript", "capture_id": "c-1", "manifest_sha256": "a" * 64,
    "media_sha256": "b" * 64, "version": 2, "prev": "c" * 64, "origin": "human",
    "based_on": "c" * 64, "language": "zh-CN", "created_at": "2026-12-03T18:00:00.123Z",
    "signer": {"key_id": "k" * 43},
    "engine": {"name": "faster-whisper", "version": "1.2.1", "model": "whisper-base"},
    "segments": [{"start_ms": 0, "end_ms": 1500, "text": "退押金", "speaker": "me"}],
    "key_points": [{"start_ms": 0, "end_ms": 1500, "label": "退押金承诺"}]}


def _valid_documents() -> dict[str, Any]:
    manifests = json.loads((VECTORS / "manifest" / "vectors.json").read_text())["manifests"]
    manifest = next(v["manifest"] for v in manifests
                    if "manifest" in v and _slow_ok(v["manifest"], "manifest-v1"))
    header = json.loads((VECTORS / "stream" / "chain.json").read_text())["stream_header"]
    return {"manifest-v1": manifest, "stream-header-v2": header, "chunk-v2": CHUNK,
            "transcript-v1": TRANSCRIPT}


DOCUMENTS = _valid_documents()


def _paths(doc: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in ``doc``: object keys and list indexes, at any depth."""
    out = [at]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, (*at, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _paths(v, (*at, i))
    return out


@pytest.mark.parametrize("name", SCHEMAS)
def test_the_fuzzed_documents_start_valid(name: str) -> None:
    assert _fast_ok(DOCUMENTS[name], name) and _slow_ok(DOCUMENTS[name], name)


@pytest.mark.parametrize("name", SCHEMAS)
@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_agree_on_documents_mutated_anywhere(name: str, data: st.DataObject) -> None:
    doc: Any = json.loads(json.dumps(DOCUMENTS[name]))
    path = data.draw(st.sampled_from(_paths(doc)[1:]))
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    how = data.draw(st.sampled_from(["set", "drop", "add"]))
    if how == "set":
        parent[path[-1]] = data.draw(_values)
    elif how == "drop":
        del parent[path[-1]]
    elif isinstance(parent, dict):
        parent[data.draw(st.text(max_size=8))] = data.draw(_values)
    else:
        parent.append(data.draw(_values))
    assert _fast_ok(doc, name) == _slow_ok(doc, name), doc
