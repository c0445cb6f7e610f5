"""RFC 9162 Merkle proofs: transparency-dev vectors plus properties (hypothesis)."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldproof.core import merkle
from tests.support.paths import VECTORS

MERKLE = VECTORS / "merkle"


def _load(kind: str) -> list[Any]:
    cases = []
    for path in sorted((MERKLE / kind).rglob("*.json")):
        cases.append(pytest.param(json.loads(path.read_text()),
                                  id=str(path.relative_to(MERKLE / kind))))
    return cases


def _b(s: str | None) -> bytes:
    return base64.b64decode(s or "")


INCLUSION = _load("inclusion")
CONSISTENCY = _load("consistency")


def test_vectors_present() -> None:
    assert len(INCLUSION) > 50 and len(CONSISTENCY) > 50


@pytest.mark.parametrize("case", INCLUSION)
def test_inclusion_vector(case: dict[str, Any]) -> None:
    args = (case["leafIdx"], case["treeSize"], _b(case["leafHash"]),
            [_b(p) for p in case["proof"] or []], _b(case["root"]))
    if case["wantErr"]:
        with pytest.raises(merkle.ProofError):
            merkle.verify_inclusion(*args)
    else:
        merkle.verify_inclusion(*args)


@pytest.mark.parametrize("case", CONSISTENCY)
def test_consistency_vector(case: dict[str, Any]) -> None:
    args = (case["size1"], case["size2"], _b(case["root1"]), _b(case["root2"]),
            [_b(p) for p in case["proof"] or []])
    if case["wantErr"]:
        with pytest.raises(merkle.ProofError):
            merkle.verify_consistency(*args)
    else:
        merkle.verify_consistency(*args)


# RFC 6962 / 9162 reference tree: the 8 leaves used by the vectors above.
RFC_LEAVES = [b"", b"\x00", b"\x10", b"\x20\x21", b"\x30\x31", b"\x40\x41\x42\x43",
              b"\x50\x51\x52\x53\x54\x55\x56\x57",
              b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f"]
RFC_ROOTS = {
    1: "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    2: "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    3: "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    4: "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    5: "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    6: "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    7: "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    8: "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
}


class Tree:
    """A stored tree as the database keeps it: every perfect subtree."""

    def __init__(self) -> None:
        self.nodes: dict[merkle.NodeId, bytes] = {}
        self.leaves: list[bytes] = []
        self.lookups = 0

    def append(self, data: bytes) -> None:
        app = merkle.Appender(len(self.leaves), self.get(merkle.Appender.edge_ids(
            len(self.leaves))))
        lh = merkle.leaf_hash(data)
        self.nodes.update(app.append(lh))
        self.leaves.append(lh)

    def get(self, ids: Iterable[merkle.NodeId]) -> Mapping[merkle.NodeId, bytes]:
        self.lookups += 1
        return {i: self.nodes[i] for i in ids}


@pytest.fixture(scope="module")
def rfc_tree() -> Tree:
    t = Tree()
    for leaf in RFC_LEAVES:
        t.append(leaf)
    return t


def test_known_roots(rfc_tree: Tree) -> None:
    for size, want in RFC_ROOTS.items():
        assert merkle.root(size, rfc_tree.get).hex() == want
        assert merkle.root_of_leaves(rfc_tree.leaves[:size]).hex() == want
    assert merkle.root(0, rfc_tree.get) == hashlib.sha256(b"").digest()


def test_generated_proofs_match_vectors(rfc_tree: Tree) -> None:
    for case in INCLUSION:
        c = case.values[0]
        if c["wantErr"] or c["treeSize"] > 8 or not c["proof"]:
            continue
        if merkle.root(c["treeSize"], rfc_tree.get) != _b(c["root"]):
            continue
        got = merkle.inclusion_proof(c["leafIdx"], c["treeSize"], rfc_tree.get)
        assert got == [_b(p) for p in c["proof"]]


def test_appender_root_and_one_lookup_per_proof() -> None:
    t = Tree()
    for i in range(1000):
        t.append(i.to_bytes(4, "big"))
    t.lookups = 0
    merkle.inclusion_proof(517, 1000, t.get)
    merkle.consistency_proof(333, 1000, t.get)
    assert t.lookups == 2


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=1, max_value=300), st.data())
def test_every_leaf_provable_and_sizes_consistent(n: int, data: Any) -> None:
    t = Tree()
    for i in range(n):
        t.append(b"leaf %d" % i)
    index = data.draw(st.integers(0, n - 1))
    size = data.draw(st.integers(index + 1, n))
    r = merkle.root(size, t.get)
    assert r == merkle.root_of_leaves(t.leaves[:size])
    merkle.verify_inclusion(index, size, t.leaves[index],
                            merkle.inclusion_proof(index, size, t.get), r)
    size1 = data.draw(st.integers(1, n))
    size2 = data.draw(st.integers(size1, n))
    merkle.verify_consistency(size1, size2, merkle.root(size1, t.get),
                              merkle.root(size2, t.get),
                              merkle.consistency_proof(size1, size2, t.get))


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=2, max_value=200), st.data())
def test_tampered_proofs_fail(n: int, data: Any) -> None:
    t = Tree()
    for i in range(n):
        t.append(b"x%d" % i)
    index = data.draw(st.integers(0, n - 1))
    proof = merkle.inclusion_proof(index, n, t.get)
    r = merkle.root(n, t.get)
    if proof:
        k = data.draw(st.integers(0, len(proof) - 1))
        bad = list(proof)
        bad[k] = bytes([bad[k][0] ^ 1]) + bad[k][1:]
        with pytest.raises(merkle.ProofError):
            merkle.verify_inclusion(index, n, t.leaves[index], bad, r)
    other = data.draw(st.integers(0, n - 1))
    if t.leaves[other] != t.leaves[index]:
        with pytest.raises(merkle.ProofError):
            merkle.verify_inclusion(index, n, t.leaves[other], proof, r)


def test_range_nodes_cover_exactly() -> None:
    for start in range(0, 40):
        for end in range(start, 70):
            covered: list[int] = []
            for level, idx in merkle.range_nodes(start, end):
                covered += range(idx << level, (idx + 1) << level)
            assert covered == list(range(start, end))


def test_unused_path() -> None:
    assert isinstance(MERKLE, Path)
