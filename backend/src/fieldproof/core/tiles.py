"""The log as C2SP tlog-tiles (https://c2sp.org/tlog-tiles): layout and maths.

A tile is the 8-level-high subtree slice of the RFC 9162 tree: tile ``N`` at
level ``L`` holds, for ``i`` in 0..255, MTH(D[(N*256 + i) * 256**L : (N*256 + i
+ 1) * 256**L]), which is the stored perfect subtree ``(8L, N*256 + i)`` of
:mod:`fieldproof.core.merkle`. Hashes are 32 raw bytes, concatenated. A tree
whose size is not a multiple of 256**(L+1) also has a *partial* tile at
level L, named by its width ``W`` (1..255): ``tile/<L>/<N>.p/<W>``. Since the
width is in the name, every tile path has one content for good.

Entry bundles (``tile/entries/<N>[.p/<W>]``) hold the leaf data of the level-0
tile with the same name, each entry as a big-endian uint16 length and its
bytes; SHA-256(0x00 || entry) is the tile's hash at the same position.

Pure: no I/O. Writers (log/tiles.py) and readers (client/audit.py) bring it.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from fieldproof.core import merkle
from fieldproof.errors import EntryInvalid, ProofError

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT  # 256 hashes
HASH_SIZE = merkle.HASH_LEN
MAX_LEVEL = 63
MAX_ENTRY = 0xFFFF  # the uint16 length prefix of an entry bundle

_LEVEL = r"0|[1-9][0-9]?"
_WIDTH = r"[1-9][0-9]{0,2}"
_PATH = re.compile(rf"^tile/(?P<level>{_LEVEL}|entries)/(?P<index>(?:x[0-9]{{3}}/)*[0-9]{{3}})"
                   rf"(?:\.p/(?P<width>{_WIDTH}))?$")


@dataclass(frozen=True, order=True)
class Tile:
    """One resource of the tiled log: a hash tile, or (``entries``) an entry bundle."""

    level: int
    index: int
    width: int = TILE_WIDTH
    entries: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.level <= MAX_LEVEL or (self.entries and self.level != 0):
            raise ValueError(f"bad tile level {self.level}")
        if self.index < 0 or not 1 <= self.width <= TILE_WIDTH:
            raise ValueError(f"bad tile index {self.index} or width {self.width}")

    @property
    def partial(self) -> bool:
        return self.width < TILE_WIDTH

    @property
    def path(self) -> str:
        """``tile/<L>/<N>[.p/<W>]`` or ``tile/entries/<N>[.p/<W>]``, relative to the prefix."""
        level = "entries" if self.entries else str(self.level)
        suffix = f".p/{self.width}" if self.partial else ""
        return f"tile/{level}/{index_path(self.index)}{suffix}"

    def node_ids(self) -> list[merkle.NodeId]:
        """The stored subtrees whose hashes this tile holds (leaf hashes for a bundle)."""
        level = TILE_HEIGHT * self.level
        first = self.index * TILE_WIDTH
        return [(level, first + i) for i in range(self.width)]

    def full(self) -> Tile:
        """The full tile this one grows into."""
        return Tile(self.level, self.index, TILE_WIDTH, self.entries)


def index_path(n: int) -> str:
    """``1234067`` -> ``x001/x234/067``: 3-digit groups, all but the last x-prefixed."""
    if n < 0:
        raise ValueError("a tile index is non-negative")
    groups = [f"{n % 1000:03d}"]
    n //= 1000
    while n:
        groups.append(f"x{n % 1000:03d}")
        n //= 1000
    return "/".join(reversed(groups))


def parse_path(path: str) -> Tile:
    """The tile a path names; ValueError unless it is exactly the spec's spelling."""
    m = _PATH.match(path)
    if m is None:
        raise ValueError(f"not a tile path: {path!r}")
    entries = m["level"] == "entries"
    tile = Tile(0 if entries else int(m["level"]),  # ValueError beyond level 63
                int(m["index"].replace("x", "").replace("/", "")),
                int(m["width"]) if m["width"] else TILE_WIDTH, entries)
    if tile.path != path:  # x000/001 for 1, or .p/256: one name per tile
        raise ValueError(f"not the canonical tile path: {path!r}")
    return tile


# ----------------------------------------------------------------- which tiles
def _levels(size: int) -> Iterable[int]:
    level = 0
    while size >> (TILE_HEIGHT * level):
        yield level
        level += 1


def partial_tiles(size: int) -> list[Tile]:
    """The partial tiles of a tree of ``size`` leaves (at most one per level, and a bundle)."""
    out: list[Tile] = []
    for level in _levels(size):
        width = (size >> (TILE_HEIGHT * level)) % TILE_WIDTH
        if width:
            index = size >> (TILE_HEIGHT * (level + 1))
            out.append(Tile(level, index, width))
            if level == 0:
                out.append(Tile(0, index, width, entries=True))
    return out


def tiles_for(size: int) -> list[Tile]:
    """Every tile (hash tiles of all levels and entry bundles) of a tree of ``size`` leaves."""
    return new_tiles(0, size)


def new_tiles(old: int, new: int) -> list[Tile]:
    """What a tree of ``new`` leaves has that one of ``old`` leaves did not.

    The full tiles completed in between, and the partial tiles of ``new`` (a
    partial tile that did not change keeps its name and is left out).
    """
    if not 0 <= old <= new:
        raise ValueError(f"cannot grow a tree from {old} to {new} leaves")
    out: list[Tile] = []
    for level in _levels(new):
        shift = TILE_HEIGHT * (level + 1)
        for n in range(old >> shift, new >> shift):
            out.append(Tile(level, n))
            if level == 0:
                out.append(Tile(0, n, entries=True))
    before = set(partial_tiles(old))
    out += [t for t in partial_tiles(new) if t not in before]
    return out


# ----------------------------------------------------------------- encodings
def encode_hashes(hashes: Sequence[bytes]) -> bytes:
    if not 1 <= len(hashes) <= TILE_WIDTH or any(len(h) != HASH_SIZE for h in hashes):
        raise ValueError("a tile holds 1..256 hashes of 32 bytes")
    return b"".join(hashes)


def decode_hashes(data: bytes, tile: Tile) -> list[bytes]:
    """The hashes of ``tile``; ProofError unless ``data`` is exactly ``tile.width`` of them."""
    if len(data) != HASH_SIZE * tile.width:
        raise ProofError(f"{tile.path}: {len(data)} bytes, expected {HASH_SIZE * tile.width}")
    return [data[i:i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)]


def encode_bundle(entries: Sequence[bytes]) -> bytes:
    """Entries framed as big-endian uint16 length + bytes."""
    if not 1 <= len(entries) <= TILE_WIDTH:
        raise ValueError("an entry bundle holds 1..256 entries")
    out = bytearray()
    for e in entries:
        if len(e) > MAX_ENTRY:
            raise EntryInvalid(f"a log entry of {len(e)} bytes does not fit an entry bundle")
        out += struct.pack(">H", len(e)) + e
    return bytes(out)


def decode_bundle(data: bytes, tile: Tile | None = None) -> list[bytes]:
    """The entries of a bundle; ProofError if the framing is broken or the count is wrong."""
    entries: list[bytes] = []
    at = 0
    while at < len(data):
        if at + 2 > len(data):
            raise ProofError("entry bundle ends inside a length prefix")
        (n,) = struct.unpack_from(">H", data, at)
        if at + 2 + n > len(data):
            raise ProofError("entry bundle ends inside an entry")
        entries.append(data[at + 2:at + 2 + n])
        at += 2 + n
    if tile is not None and len(entries) != tile.width:
        raise ProofError(f"{tile.path}: {len(entries)} entries, expected {tile.width}")
    return entries


# ----------------------------------------------------------------- reading
def tile_of(node: merkle.NodeId, size: int) -> tuple[Tile, int, int]:
    """Where the hashes of stored subtree ``node`` of a ``size``-leaf tree are.

    Returns the tile (as it is in that tree: full or partial), the position of
    the first hash and how many consecutive hashes fold into the node (a power
    of two below 256 when the node lies between two tile levels).
    """
    level, idx = node
    tl, k = divmod(level, TILE_HEIGHT)
    first = idx << k  # in units of the tile level's hashes
    n = first // TILE_WIDTH
    complete = size >> (TILE_HEIGHT * tl)  # hashes that exist at that tile level
    width = min(TILE_WIDTH, complete - n * TILE_WIDTH)
    if width < first % TILE_WIDTH + (1 << k):
        raise ValueError(f"node {node} is not in a tree of {size} leaves")
    return Tile(tl, n, width), first % TILE_WIDTH, 1 << k


def _fold(hashes: Sequence[bytes]) -> bytes:
    """The root of a perfect subtree over a power-of-two number of hashes."""
    layer = list(hashes)
    while len(layer) > 1:
        layer = [merkle.node_hash(layer[i], layer[i + 1]) for i in range(0, len(layer), 2)]
    return layer[0]


def root_from_tiles(size: int, get_tile: Callable[[Tile], Sequence[bytes]]) -> bytes:
    """MTH of the first ``size`` leaves from hash tiles alone (``get_tile`` fetches one)."""
    if size == 0:
        return merkle.EMPTY_ROOT
    cache: dict[Tile, Sequence[bytes]] = {}
    nodes: dict[merkle.NodeId, bytes] = {}
    for node in merkle.range_nodes(0, size):
        tile, at, count = tile_of(node, size)
        if tile not in cache:
            cache[tile] = get_tile(tile)
            if len(cache[tile]) != tile.width:
                raise ProofError(f"{tile.path} holds {len(cache[tile])} hashes")
        nodes[node] = _fold(cache[tile][at:at + count])
    return merkle.subtree_hash(0, size, nodes)
