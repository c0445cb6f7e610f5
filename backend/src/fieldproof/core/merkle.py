"""RFC 9162 Merkle tree hashing, proofs and their verification.

Written here rather than taken from a library: pymerkle is GPL-3.0, and the
persistence scheme below (every perfect subtree stored once, proofs assembled
from O(log n) of them in one lookup) is ours. Everything is pure: callers pass
a function that fetches stored nodes.

A *node id* ``(level, index)`` names the perfect subtree over leaves
``[index << level, (index + 1) << level)``; level 0 holds leaf hashes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence

from fieldproof.errors import ProofError, ProofOutOfRange

NodeId = tuple[int, int]
Range = tuple[int, int]
GetNodes = Callable[[Iterable[NodeId]], Mapping[NodeId, bytes]]

EMPTY_ROOT = hashlib.sha256(b"").digest()
HASH_LEN = 32


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


# ----------------------------------------------------------------- which subtrees
def range_nodes(start: int, end: int) -> list[NodeId]:
    """The perfect subtrees that make up leaves [start, end), left to right.

    For RFC 9162 subtrees (and for [0, n)) they shrink from left to right, so
    the range's hash folds them from the right (see :func:`subtree_hash`).
    """
    out: list[NodeId] = []
    while start < end:
        # the biggest aligned block at `start` that fits
        level = (start & -start).bit_length() - 1 if start else (end - start).bit_length() - 1
        while (1 << level) > end - start:
            level -= 1
        out.append((level, start >> level))
        start += 1 << level
    return out


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """Subtrees whose hashes form PATH(index, D[size]), in proof order."""
    if not 0 <= index < size:
        raise ProofOutOfRange(f"leaf {index} is not in a tree of size {size}")
    out: list[Range] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index - start < k:
            out.append((start + k, end))
            end = start + k
        else:
            out.append((start, start + k))
            start += k
    out.reverse()
    return out


def consistency_ranges(size1: int, size2: int) -> list[Range]:
    """Subtrees whose hashes form PROOF(size1, D[size2]), in proof order."""
    if not 0 < size1 <= size2:
        raise ProofOutOfRange(f"no consistency proof from {size1} to {size2}")
    out: list[Range] = []
    start, end, m, complete = 0, size2, size1, True
    while True:
        n = end - start
        if m == n:
            if not complete:
                out.append((start, end))
            break
        k = _split(n)
        if m <= k:
            out.append((start + k, end))
            end = start + k
        else:
            out.append((start, start + k))
            start, m, complete = start + k, m - k, False
    out.reverse()
    return out


def nodes_for(ranges: Iterable[Range]) -> set[NodeId]:
    need: set[NodeId] = set()
    for start, end in ranges:
        need.update(range_nodes(start, end))
    return need


def subtree_hash(start: int, end: int, nodes: Mapping[NodeId, bytes]) -> bytes:
    """MTH(D[start:end]) from stored perfect subtrees."""
    if start == end:
        return EMPTY_ROOT
    parts = [nodes[n] for n in range_nodes(start, end)]
    acc = parts[-1]
    for h in reversed(parts[:-1]):
        acc = node_hash(h, acc)
    return acc


def _hashes(ranges: Sequence[Range], get: GetNodes) -> list[bytes]:
    nodes = get(nodes_for(ranges))
    return [subtree_hash(s, e, nodes) for s, e in ranges]


def inclusion_proof(index: int, size: int, get: GetNodes) -> list[bytes]:
    return _hashes(inclusion_ranges(index, size), get)


def consistency_proof(size1: int, size2: int, get: GetNodes) -> list[bytes]:
    if size1 == size2:
        return []
    return _hashes(consistency_ranges(size1, size2), get)


def root(size: int, get: GetNodes) -> bytes:
    return subtree_hash(0, size, get(range_nodes(0, size))) if size else EMPTY_ROOT


def root_of_leaves(leaf_hashes: Sequence[bytes]) -> bytes:
    """Reference MTH over leaf hashes, straight from the RFC's definition."""
    n = len(leaf_hashes)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaf_hashes[0]
    k = _split(n)
    return node_hash(root_of_leaves(leaf_hashes[:k]), root_of_leaves(leaf_hashes[k:]))


# ----------------------------------------------------------------- appending
class Appender:
    """Extends a tree by whole leaves, yielding every new perfect subtree.

    It only needs the tree's right edge (the perfect subtrees of [0, size)),
    so appending never touches the rest of the stored tree.
    """

    def __init__(self, size: int, edge: Mapping[NodeId, bytes]) -> None:
        self.size = size
        self._edge = {n: edge[n] for n in range_nodes(0, size)}

    @staticmethod
    def edge_ids(size: int) -> list[NodeId]:
        return range_nodes(0, size)

    def append(self, leaf: bytes) -> list[tuple[NodeId, bytes]]:
        index = self.size
        new = [((0, index), leaf)]
        level, idx, h = 0, index, leaf
        while idx & 1:
            left = self._edge.pop((level, idx - 1))
            h = node_hash(left, h)
            level, idx = level + 1, idx >> 1
            new.append(((level, idx), h))
        self._edge[(level, idx)] = h
        self.size += 1
        return new

    def root(self) -> bytes:
        return subtree_hash(0, self.size, self._edge)


# ----------------------------------------------------------------- verification
def _check_lengths(proof: Sequence[bytes]) -> None:
    if len(proof) > 64 or any(len(p) != HASH_LEN for p in proof):
        raise ProofError("proof hashes must be 32 bytes each, at most 64 of them")


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes],
                     root_hash: bytes) -> None:
    """RFC 9162 §2.1.3.2. Raises ProofError."""
    if index >= size or index < 0:
        raise ProofError(f"leaf index {index} is outside a tree of size {size}")
    if len(leaf) != HASH_LEN or len(root_hash) != HASH_LEN:
        raise ProofError("leaf and root hashes must be 32 bytes")
    _check_lengths(proof)
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ProofError("inclusion proof is too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("inclusion proof is too short")
    if r != root_hash:
        raise ProofError("inclusion proof does not lead to the root")


def verify_consistency(size1: int, size2: int, root1: bytes, root2: bytes,
                       proof: Sequence[bytes]) -> None:
    """RFC 9162 §2.1.4.2. Raises ProofError.

    Consistency with the empty tree is refused: it proves nothing, and the
    shared vectors expect it to fail.
    """
    if size1 <= 0 or size2 < size1:
        raise ProofError(f"no consistency between sizes {size1} and {size2}")
    if size1 == size2:
        if proof:
            raise ProofError("equal sizes need an empty proof")
        if root1 != root2:
            raise ProofError("equal sizes but different roots")
        return
    if not proof:
        raise ProofError("empty consistency proof")
    _check_lengths(proof)
    path = list(proof)
    if size1 & (size1 - 1) == 0:  # a power of two: the old root is a subtree
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is too long")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("consistency proof is too short")
    if fr != root1:
        raise ProofError("consistency proof does not lead to the first root")
    if sr != root2:
        raise ProofError("consistency proof does not lead to the second root")
