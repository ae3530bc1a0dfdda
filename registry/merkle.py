"""RFC 9162 Merkle tree hashing, proof verification, and proof generation by plan.

Verification (`verify_inclusion`, `verify_consistency`) follows RFC 9162
§2.1.3.2 and §2.1.4.2 step by step and needs nothing but bytes.

Generation never walks the tree. A log stores the hash of every *perfect*
subtree once it is complete, addressed by `NodeID(level, idx)`: node (0, i)
is leaf i's hash and node (l, i) covers leaves [i·2^l, (i+1)·2^l). Any proof
for a tree of any size up to the current one is then made of O(log n) stored
nodes, some of them combined into "ephemeral" hashes of subtrees that are not
perfect in that tree. Generating a proof is three steps, as in
transparency-dev/merkle (`proof.Inclusion` + `Nodes.Rehash`):

1. plan: `inclusion_plan` / `consistency_plan` name the nodes to read;
2. fetch: the store reads them (one batched query, in any way it likes);
3. compute: `ProofPlan.rehash` folds the ephemeral parts into the proof.

Appending is the mirror image: `CompactRange.append` (or, from a store,
`nodes_completed_by_append`) returns the perfect-subtree nodes completed by a
new leaf, so a store writes each node once and never recomputes one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final, NamedTuple

from registry.errors import (
    ConsistencyProofInvalid,
    InclusionProofInvalid,
    ProofMalformed,
    ProofRequestInvalid,
)

HASH_SIZE: Final = 32
# RFC 9162 §2.1.1: the hash of an empty list is the hash of the empty string.
EMPTY_ROOT: Final = hashlib.sha256(b"").digest()

_LEAF_PREFIX: Final = b"\x00"
_NODE_PREFIX: Final = b"\x01"


def leaf_hash(entry: bytes) -> bytes:
    """MTH({d0}) = HASH(0x00 || d0) (RFC 9162 §2.1.1)."""
    return hashlib.sha256(_LEAF_PREFIX + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """HASH(0x01 || left || right) (RFC 9162 §2.1.1)."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def _largest_power_of_two_below(n: int) -> int:
    # RFC 9162 §2.1.1: "k is the largest power of two smaller than n" (n > 1).
    return 1 << ((n - 1).bit_length() - 1)


def root_from_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    """MTH(D[n]) over already-hashed leaves, by the recursive definition of RFC 9162 §2.1.1.

    This is the reference: it reads every leaf. Logs use `root_plan` instead.
    """

    def mth(begin: int, end: int) -> bytes:
        n = end - begin
        if n == 1:
            return hashes[begin]
        k = _largest_power_of_two_below(n)
        return node_hash(mth(begin, begin + k), mth(begin + k, end))

    return EMPTY_ROOT if not hashes else mth(0, len(hashes))


# --- verification (RFC 9162 §2.1.3.2, §2.1.4.2) --------------------------------


def _check_hashes(what: str, values: Sequence[bytes]) -> None:
    if any(len(v) != HASH_SIZE for v in values):
        raise ProofMalformed(f"{what} contains a value that is not a {HASH_SIZE}-byte hash")


def _check_hash(what: str, value: bytes) -> None:
    # A malformed input is named for what it is: "the old root", not "the proof".
    if len(value) != HASH_SIZE:
        raise ProofMalformed(f"{what} is not a {HASH_SIZE}-byte hash")


def _require_hashes(what: str, values: Sequence[bytes]) -> None:
    # For values that come from our own store or code, not from a client: a
    # wrong one is a bug and must surface as one (500), not as a client's 400.
    if any(len(v) != HASH_SIZE for v in values):
        raise ValueError(f"{what} contains a value that is not a {HASH_SIZE}-byte hash")


def root_from_inclusion_proof(
    *, leaf_hash: bytes, index: int, tree_size: int, proof: Sequence[bytes]
) -> bytes:
    """The root that `proof` leads to from `leaf_hash` at `index` (RFC 9162 §2.1.3.2 1-4).

    Raises `ProofMalformed` for values that are not 32 bytes and
    `InclusionProofInvalid` when the proof has the wrong shape for the position.
    """
    _check_hash("the leaf hash", leaf_hash)
    _check_hashes("the inclusion proof", proof)
    # (1) The leaf must be inside the tree.
    if not 0 <= index < tree_size:
        raise InclusionProofInvalid("the leaf index is outside the tree")
    # (2, 3)
    fn, sn, r = index, tree_size - 1, leaf_hash
    # (4)
    for p in proof:
        if sn == 0:  # (4a) the proof is longer than the path to the root
            raise InclusionProofInvalid("the inclusion proof is too long")
        if fn & 1 or fn == sn:  # (4b) p is a left sibling
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:  # (4b ii)
                fn, sn = fn >> 1, sn >> 1
        else:  # (4b, otherwise) p is a right sibling
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1  # (4c)
    # (5, first half) every level up to the root must have been consumed.
    if sn != 0:
        raise InclusionProofInvalid("the inclusion proof is too short")
    return r


def verify_inclusion(
    *, leaf_hash: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Raise unless `proof` puts `leaf_hash` at `index` of the tree of `tree_size` with `root`.

    `leaf_hash` is the leaf *hash*, not the entry. Returns None on success;
    raises `ProofMalformed` or `InclusionProofInvalid` (RFC 9162 §2.1.3.2).
    """
    _check_hash("the root", root)
    computed = root_from_inclusion_proof(
        leaf_hash=leaf_hash, index=index, tree_size=tree_size, proof=proof
    )
    # (5, second half)
    if computed != root:
        raise InclusionProofInvalid("the inclusion proof does not lead to the expected root")


def verify_consistency(
    *, old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Raise unless `proof` shows the tree (`old_size`, `old_root`) is a prefix of the new one.

    Follows RFC 9162 §2.1.4.2, which covers 0 < old < new; the two edge cases
    are decided here: equal sizes need an empty proof and equal roots, and the
    empty tree (root SHA-256("")) is a prefix of every tree with an empty proof.
    Raises `ProofMalformed` or `ConsistencyProofInvalid`.
    """
    _check_hash("the old root", old_root)
    _check_hash("the new root", new_root)
    _check_hashes("the consistency proof", proof)
    if not 0 <= old_size <= new_size:
        raise ConsistencyProofInvalid("the old tree is larger than the new tree")
    if old_size == new_size:
        if proof:
            raise ConsistencyProofInvalid("a proof between equal sizes must be empty")
        if old_root != new_root:
            raise ConsistencyProofInvalid("two trees of the same size have different roots")
        return
    if old_size == 0:
        if proof:
            raise ConsistencyProofInvalid("a proof from the empty tree must be empty")
        if old_root != EMPTY_ROOT:
            raise ConsistencyProofInvalid("the old root is not the root of the empty tree")
        return
    # (1)
    if not proof:
        raise ConsistencyProofInvalid("the consistency proof is empty")
    path = list(proof)
    # (2) When the old tree is perfect its root is the first node of the path.
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    # (3)
    fn, sn = old_size - 1, new_size - 1
    # (4)
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    # (5)
    fr = sr = path[0]
    # (6)
    for c in path[1:]:
        if sn == 0:  # (6a)
            raise ConsistencyProofInvalid("the consistency proof is too long")
        if fn & 1 or fn == sn:  # (6b)
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:  # (6b ii)
                fn, sn = fn >> 1, sn >> 1
        else:  # (6b, otherwise)
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1  # (6c)
    # (7)
    if sn != 0:
        raise ConsistencyProofInvalid("the consistency proof is too short")
    if fr != old_root:
        raise ConsistencyProofInvalid("the consistency proof does not lead to the old root")
    if sr != new_root:
        raise ConsistencyProofInvalid("the consistency proof does not lead to the new root")


# --- proof generation: plan → fetch → rehash -----------------------------------


class NodeID(NamedTuple):
    """A perfect subtree: the 2^level leaves starting at leaf idx·2^level."""

    level: int
    idx: int


def _perfect_subtrees(begin: int, end: int) -> list[NodeID]:
    """The fewest aligned perfect subtrees covering leaves [begin, end), left to right."""
    nodes: list[NodeID] = []
    while begin < end:
        # The largest subtree that starts at `begin` (alignment) and fits before `end`.
        fits = (end - begin).bit_length() - 1
        level = fits if begin == 0 else min(fits, (begin & -begin).bit_length() - 1)
        nodes.append(NodeID(level, begin >> level))
        begin += 1 << level
    return nodes


def _fold(hashes: Sequence[bytes]) -> bytes:
    """MTH of a subtree given its perfect subtrees left to right (RFC 9162 §2.1.1).

    The largest power of two always splits off first, so the tree is the right
    fold of its binary decomposition.
    """
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


@dataclass(frozen=True, slots=True)
class ProofPlan:
    """Which stored nodes make up a proof, and which of them fold into one hash.

    `nodes` is in proof order, except that the run `nodes[fold_start:fold_stop]`
    (perfect subtrees, left to right) stands for a single ephemeral node: the
    root of a subtree that is not perfect in this tree.
    """

    nodes: tuple[NodeID, ...]
    fold_start: int = 0
    fold_stop: int = 0

    def rehash(self, fetched: Sequence[bytes]) -> list[bytes]:
        """The proof, from the hashes of `nodes` in the same order.

        Raises `ValueError` if the count or a hash length is wrong: that is a
        store bug, not a client error.
        """
        if len(fetched) != len(self.nodes):
            raise ValueError("the number of fetched nodes does not match the plan")
        _require_hashes("the fetched nodes", fetched)
        if self.fold_stop - self.fold_start < 2:
            return list(fetched)
        start, stop = self.fold_start, self.fold_stop
        return [*fetched[:start], _fold(fetched[start:stop]), *fetched[stop:]]

    def build(self, get_node: Callable[[NodeID], bytes]) -> list[bytes]:
        """Fetch each node with `get_node`, one by one, and rehash. For stores without batching."""
        return self.rehash([get_node(n) for n in self.nodes])


def _path_plan(node: NodeID, size: int, *, include_node: bool) -> ProofPlan:
    """The nodes proving the stored `node` into the tree of `size` leaves.

    The path from `node` up to the root runs through perfect subtrees up to
    the "fork": the highest ancestor still complete in this tree. Its right
    sibling is ephemeral (it reaches past `size`), so it is planned as its
    perfect parts; above the fork every sibling is a complete left subtree.
    """
    level, index = node
    # Levels above `node` at which the fork is: the highest bit where `node`
    # and the node holding the first missing leaf differ.
    inner = (index ^ (size >> level)).bit_length() - 1
    fork_level = level + inner
    begin = (index >> inner) << fork_level
    end = begin + (1 << fork_level)

    ids: list[NodeID] = [node] if include_node else []
    for i in range(inner):  # siblings inside the fork, bottom up
        ids.append(NodeID(level + i, (index >> i) ^ 1))
    right = _perfect_subtrees(end, size)  # the ephemeral sibling of the fork
    fold_start = len(ids)
    ids.extend(right)
    fold_stop = len(ids)
    ids.extend(reversed(_perfect_subtrees(0, begin)))  # left siblings, bottom up
    return ProofPlan(tuple(ids), fold_start, fold_stop)


def inclusion_plan(index: int, size: int) -> ProofPlan:
    """Plan the inclusion proof of leaf `index` in the tree of `size` leaves (RFC 9162 §2.1.3.1).

    Raises `ProofRequestInvalid` unless 0 <= index < size.
    """
    if not 0 <= index < size:
        raise ProofRequestInvalid("the leaf index is not inside the tree")
    return _path_plan(NodeID(0, index), size, include_node=False)


def consistency_plan(old_size: int, new_size: int) -> ProofPlan:
    """Plan the consistency proof from `old_size` to `new_size` (RFC 9162 §2.1.4.1).

    Equal sizes and the empty old tree need no nodes. Raises
    `ProofRequestInvalid` unless 0 <= old_size <= new_size.
    """
    if not 0 <= old_size <= new_size:
        raise ProofRequestInvalid("the old size must not exceed the new size")
    if old_size in (0, new_size):
        return ProofPlan(())
    # The largest perfect subtree that ends at old_size: the last one of its
    # decomposition. The proof is that node plus its path into the new tree;
    # the node itself is left out when it is the whole old tree, since the
    # verifier already holds it as the old root (RFC 9162 §2.1.4.1 SUBPROOF b).
    level = (old_size & -old_size).bit_length() - 1
    index = (old_size - 1) >> level
    return _path_plan(NodeID(level, index), new_size, include_node=index != 0)


def root_plan(size: int) -> tuple[NodeID, ...]:
    """The perfect subtrees whose hashes give the root of the tree of `size` leaves."""
    if size < 0:
        raise ProofRequestInvalid("a tree size cannot be negative")
    return tuple(_perfect_subtrees(0, size))


def root_from_subtree_hashes(hashes: Sequence[bytes]) -> bytes:
    """The tree root from the hashes of `root_plan(size)`, in order."""
    _require_hashes("the subtree hashes", hashes)
    return _fold(hashes) if hashes else EMPTY_ROOT


# --- appending ------------------------------------------------------------------


def nodes_completed_by_append(
    index: int, leaf_hash: bytes, get_node: Callable[[NodeID], bytes]
) -> list[tuple[NodeID, bytes]]:
    """The nodes to store when leaf `index` is appended: the leaf and each subtree it completes.

    Reads one stored left sibling per completed subtree (as many as `index`
    has trailing one bits). Prefer `CompactRange` when the sequencer can keep
    it in memory: it needs no reads at all.
    """
    _require_hashes("the leaf hash", [leaf_hash])
    out = [(NodeID(0, index), leaf_hash)]
    level, i, h = 0, index, leaf_hash
    while i & 1:
        h = node_hash(get_node(NodeID(level, i - 1)), h)
        level, i = level + 1, i >> 1
        out.append((NodeID(level, i), h))
    return out


@dataclass(slots=True)
class CompactRange:
    """The right border of a log: the roots of the perfect subtrees covering [0, size).

    It holds at most log2(size)+1 hashes and is all that is needed to append
    and to compute the current root. Resume it after a restart with
    `CompactRange.from_hashes(size, hashes of root_plan(size))`.
    """

    size: int = 0
    hashes: list[bytes] = field(default_factory=list)

    @classmethod
    def from_hashes(cls, size: int, hashes: Sequence[bytes]) -> CompactRange:
        if len(hashes) != len(root_plan(size)):
            raise ValueError("the hashes do not match the subtrees of this size")
        _require_hashes("the subtree hashes", hashes)
        return cls(size, list(hashes))

    def append(self, leaf_hash: bytes) -> list[tuple[NodeID, bytes]]:
        """Add the next leaf; return the nodes it completes (the leaf first, the largest last)."""
        _require_hashes("the leaf hash", [leaf_hash])
        index = self.size
        out = [(NodeID(0, index), leaf_hash)]
        level, i, h = 0, index, leaf_hash
        while i & 1:  # each trailing one bit of the index merges two subtrees
            h = node_hash(self.hashes.pop(), h)
            level, i = level + 1, i >> 1
            out.append((NodeID(level, i), h))
        self.hashes.append(h)
        self.size += 1
        return out

    def root(self) -> bytes:
        return root_from_subtree_hashes(self.hashes)


class InMemoryTree:
    """A whole log in a dict of nodes, proving through the same plans as a database store.

    For tests and for the audit tool, which rebuilds the tree from the entries.
    """

    def __init__(self) -> None:
        self._nodes: dict[NodeID, bytes] = {}
        self._range = CompactRange()

    @property
    def size(self) -> int:
        return self._range.size

    def append(self, entry: bytes) -> int:
        """Append an entry (hashed as a leaf); return its index."""
        return self.append_leaf_hash(leaf_hash(entry))

    def append_leaf_hash(self, leaf: bytes) -> int:
        index = self._range.size
        self._nodes.update(self._range.append(leaf))
        return index

    def get_node(self, node: NodeID) -> bytes:
        return self._nodes[node]

    def _check_size(self, size: int) -> None:
        if not 0 <= size <= self.size:
            raise ProofRequestInvalid("the tree has not reached this size")

    def root(self, size: int | None = None) -> bytes:
        size = self.size if size is None else size
        self._check_size(size)
        return root_from_subtree_hashes([self._nodes[n] for n in root_plan(size)])

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        size = self.size if size is None else size
        self._check_size(size)
        return inclusion_plan(index, size).build(self.get_node)

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        new_size = self.size if new_size is None else new_size
        self._check_size(new_size)
        return consistency_plan(old_size, new_size).build(self.get_node)
