"""Tile layout and maths (core/tiles.py) against the examples of c2sp.org/tlog-tiles."""

from __future__ import annotations

import hashlib
from collections import Counter

import pytest

from fieldproof.core import merkle
from fieldproof.core.tiles import (
    Tile,
    decode_bundle,
    decode_hashes,
    encode_bundle,
    index_path,
    new_tiles,
    parse_path,
    root_from_tiles,
    tiles_for,
)
from fieldproof.errors import EntryInvalid, ProofError


def test_index_paths_as_the_spec_spells_them() -> None:
    assert index_path(1234067) == "x001/x234/067"
    assert index_path(0) == "000"
    assert index_path(999) == "999"
    assert index_path(1000) == "x001/000"
    assert Tile(0, 1234067).path == "tile/0/x001/x234/067"
    assert Tile(3, 5, 17).path == "tile/3/005.p/17"
    assert Tile(0, 1, 255, entries=True).path == "tile/entries/001.p/255"


@pytest.mark.parametrize("path", ["tile/0/x001/x234/067", "tile/63/000", "tile/2/005.p/1",
                                  "tile/entries/x001/000.p/255", "tile/entries/000"])
def test_paths_round_trip(path: str) -> None:
    assert parse_path(path).path == path


@pytest.mark.parametrize("path", [
    "tile/0/1", "tile/00/000", "tile/64/000", "tile/0/x000/001", "tile/0/001.p/256",
    "tile/0/001.p/0", "tile/0/001.p/07", "tile/0/001/", "tile/-1/000", "tile/entries/0001",
    "tile/0/x001", "tiles/0/000", "tile/0/000.p/", "tile/1/x1/000", "tile/0/../000"])
def test_only_the_canonical_spelling_parses(path: str) -> None:
    with pytest.raises(ValueError):
        parse_path(path)


def _kinds(tiles: list[Tile]) -> Counter[tuple[int, bool, int]]:
    return Counter((t.level, t.entries, t.width) for t in tiles)


def test_the_specs_example_trees() -> None:
    # "a tree of size 70,000 will be represented by 273 full level 0 tiles, one partial
    # level 0 tile of width 112, one full level 1 tile, one partial level 1 tile of width
    # 17, and one partial level 2 tile of width 1"
    assert _kinds(tiles_for(70_000)) == Counter({
        (0, False, 256): 273, (0, True, 256): 273, (0, False, 112): 1, (0, True, 112): 1,
        (1, False, 256): 1, (1, False, 17): 1, (2, False, 1): 1})
    # "a tree of size 256 ... a full level 0 tile and a partial level 1 tile of width 1"
    assert sorted(tiles_for(256)) == [Tile(0, 0), Tile(0, 0, entries=True), Tile(1, 0, 1)]
    assert tiles_for(0) == []
    assert sorted(tiles_for(1)) == [Tile(0, 0, 1), Tile(0, 0, 1, entries=True)]


@pytest.mark.parametrize(("old", "new"), [(0, 1), (1, 2), (255, 256), (256, 257), (200, 70_000),
                                          (65535, 65536), (65536, 65537), (70_000, 70_001)])
def test_new_tiles_are_what_the_old_tree_lacked(old: int, new: int) -> None:
    assert sorted(new_tiles(old, new)) == sorted(set(tiles_for(new)) - set(tiles_for(old)))


def test_growing_keeps_full_tiles() -> None:
    # a full tile, once there, is never listed again: it is written once
    seen: set[Tile] = set()
    size = 0
    for step in (1, 254, 1, 1, 300, 65_000, 3):
        for t in new_tiles(size, size + step):
            assert not (t in seen and not t.partial), t
            seen.add(t)
        size += step


def test_bundles_frame_entries_with_a_uint16_length() -> None:
    entries = [b"", b"a", b"x" * 300]
    data = encode_bundle(entries)
    assert data[:5] == b"\x00\x00\x00\x01a" and data[5:7] == b"\x01\x2c"
    assert decode_bundle(data, Tile(0, 0, 3, entries=True)) == entries
    with pytest.raises(ProofError):
        decode_bundle(data, Tile(0, 0, 4, entries=True))
    with pytest.raises(ProofError):
        decode_bundle(data[:-1])
    with pytest.raises(EntryInvalid):
        encode_bundle([b"x" * 65536])
    with pytest.raises(ProofError):
        decode_hashes(b"\x00" * 33, Tile(0, 0, 1))


@pytest.mark.parametrize("size", [1, 2, 3, 255, 256, 257, 511, 512, 1000, 65536, 65537, 70_000])
def test_root_from_tiles(size: int) -> None:
    leaves = [hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(size)]
    app = merkle.Appender(0, {})
    nodes: dict[merkle.NodeId, bytes] = {}
    for leaf in leaves:
        nodes.update(app.append(leaf))
    fetched: list[Tile] = []

    def get(t: Tile) -> list[bytes]:
        fetched.append(t)
        return [nodes[n] for n in t.node_ids()]

    assert root_from_tiles(size, get) == app.root()
    assert len(fetched) == len(set(fetched)) <= 2 * ((size.bit_length() + 7) // 8)
    if size <= 1000:
        assert app.root() == merkle.root_of_leaves(leaves)
