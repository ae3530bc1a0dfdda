"""RFC 9162 Merkle proofs: the transparency-dev/merkle vectors, the RFC's recursive
definitions as the reference, named tamperings, and the O(log n) node budget."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from did.errors import GovidError
from registry.errors import (
    ConsistencyProofInvalid,
    InclusionProofInvalid,
    ProofMalformed,
    ProofRequestInvalid,
)
from registry.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    CompactRange,
    InMemoryTree,
    NodeID,
    ProofPlan,
    consistency_plan,
    inclusion_plan,
    leaf_hash,
    node_hash,
    nodes_completed_by_append,
    root_from_inclusion_proof,
    root_from_leaf_hashes,
    root_from_subtree_hashes,
    root_plan,
    verify_consistency,
    verify_inclusion,
)
from tests.conftest import VECTORS

_TDEV = "merkle-tlog/transparency-dev-merkle/testdata"


# --- the RFC's recursive definitions, written out as the reference -------------


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def _reference_root(leaves: list[bytes]) -> bytes:
    """MTH(D[n]), RFC 9162 §2.1.1."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaf_hash(leaves[0])
    k = _k(len(leaves))
    return node_hash(_reference_root(leaves[:k]), _reference_root(leaves[k:]))


def _reference_path(m: int, leaves: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]), RFC 9162 §2.1.3.1."""
    if len(leaves) == 1:
        return []
    k = _k(len(leaves))
    if m < k:
        return [*_reference_path(m, leaves[:k]), _reference_root(leaves[k:])]
    return [*_reference_path(m - k, leaves[k:]), _reference_root(leaves[:k])]


def _reference_subproof(m: int, leaves: list[bytes], b: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b), RFC 9162 §2.1.4.1."""
    n = len(leaves)
    if m == n:
        return [] if b else [_reference_root(leaves)]
    k = _k(n)
    if m <= k:
        return [*_reference_subproof(m, leaves[:k], b), _reference_root(leaves[k:])]
    return [*_reference_subproof(m - k, leaves[k:], False), _reference_root(leaves[:k])]


def _leaves(n: int) -> list[bytes]:
    return [b"entry-%d" % i for i in range(n)]


def _tree(leaves: list[bytes]) -> InMemoryTree:
    tree = InMemoryTree()
    for entry in leaves:
        tree.append(entry)
    return tree


def _flip(value: bytes) -> bytes:
    return bytes([value[0] ^ 0x08]) + value[1:]


def _tampered(proof: list[bytes]) -> Iterator[tuple[str, list[bytes]]]:
    yield "trailing-hash", [*proof, b"\x00" * HASH_SIZE]
    yield "preceding-hash", [b"\x00" * HASH_SIZE, *proof]
    if proof:
        yield "dropped-last", proof[:-1]
        yield "dropped-first", proof[1:]
    for i, node in enumerate(proof):
        yield f"bit-flip-{i}", [*proof[:i], _flip(node), *proof[i + 1 :]]
    if len(proof) > 1:
        yield "swapped", [proof[1], proof[0], *proof[2:]]


# --- transparency-dev/merkle vectors ------------------------------------------


def _vector_names(kind: str) -> list[str]:
    # Listed at collection time; `test_tdev_vector_set_is_complete` fails if the
    # folder is missing or shrinks, so a missing vector can never pass silently.
    root = VECTORS / _TDEV / kind
    return sorted(str(p.relative_to(VECTORS)) for p in root.glob("*/*.json"))


def _b64(value: str) -> bytes:
    return base64.b64decode(value, validate=True)


def _expected_code(case: dict[str, Any], default: str) -> str | None:
    if not case["wantErr"]:
        return None
    values = [case.get(k) for k in ("leafHash", "root", "root1", "root2")]
    values += case["proof"] or []
    # A value that is not a 32-byte hash is refused before any hashing.
    if any(v is not None and len(_b64(v)) != HASH_SIZE for v in values):
        return ProofMalformed.code
    return default


def test_tdev_vector_set_is_complete() -> None:
    inclusion, consistency = _vector_names("inclusion"), _vector_names("consistency")
    assert len(inclusion) == 53
    assert len(consistency) == 43
    assert sum(n.endswith("happy-path.json") for n in inclusion + consistency) == 6


@pytest.mark.parametrize("name", _vector_names("inclusion"))
def test_tdev_inclusion_vector(name: str, vector: Callable[[str], Any]) -> None:
    case = vector(name)
    expected = _expected_code(case, InclusionProofInvalid.code)

    def run() -> None:
        verify_inclusion(
            leaf_hash=_b64(case["leafHash"]),
            index=case["leafIdx"],
            tree_size=case["treeSize"],
            proof=[_b64(p) for p in case["proof"] or []],
            root=_b64(case["root"]),
        )

    if expected is None:
        run()
    else:
        with pytest.raises((InclusionProofInvalid, ProofMalformed)) as info:
            run()
        assert info.value.code == expected


@pytest.mark.parametrize("name", _vector_names("consistency"))
def test_tdev_consistency_vector(name: str, vector: Callable[[str], Any]) -> None:
    case = vector(name)
    expected = _expected_code(case, ConsistencyProofInvalid.code)

    def run() -> None:
        verify_consistency(
            old_size=case["size1"],
            new_size=case["size2"],
            old_root=_b64(case["root1"]),
            new_root=_b64(case["root2"]),
            proof=[_b64(p) for p in case["proof"] or []],
        )

    if expected is None:
        run()
    else:
        with pytest.raises((ConsistencyProofInvalid, ProofMalformed)) as info:
            run()
        assert info.value.code == expected


# Which input a malformed-value vector breaks, and how the error must name it.
_NAMED_INPUTS = (
    ("root1", "the old root"),
    ("root2", "the new root"),
    ("root", "the root"),  # checked before the leaf: it names the tree
    ("leafHash", "the leaf hash"),
)


def _malformed_inputs(kind: str) -> list[tuple[str, str]]:
    out = []
    for name in _vector_names(kind):
        values = json.loads((VECTORS / name).read_text(encoding="utf-8"))
        for field, words in _NAMED_INPUTS:
            value = values.get(field)
            if value is not None and len(_b64(value)) != HASH_SIZE:
                out.append((name, words))
                break
    return out


@pytest.mark.parametrize(
    ("name", "words"), _malformed_inputs("consistency") + _malformed_inputs("inclusion")
)
def test_tdev_malformed_inputs_are_named_in_the_error(
    name: str, words: str, vector: Callable[[str], Any]
) -> None:
    # wrong-root1/2, wrong-leaf, empty-root...: the error says which value is not a hash.
    case = vector(name)
    with pytest.raises(ProofMalformed) as info:
        if "size1" in case:
            verify_consistency(
                old_size=case["size1"],
                new_size=case["size2"],
                old_root=_b64(case["root1"]),
                new_root=_b64(case["root2"]),
                proof=[_b64(p) for p in case["proof"] or []],
            )
        else:
            verify_inclusion(
                leaf_hash=_b64(case["leafHash"]),
                index=case["leafIdx"],
                tree_size=case["treeSize"],
                proof=[_b64(p) for p in case["proof"] or []],
                root=_b64(case["root"]),
            )
    assert info.value.message.startswith(words + " is not")


def test_malformed_vectors_cover_both_roots_and_the_leaf() -> None:
    named = {w for _, w in _malformed_inputs("consistency") + _malformed_inputs("inclusion")}
    assert named == {"the old root", "the new root", "the leaf hash", "the root"}


def test_rfc6962_reference_tree_roots(vector: Callable[[str], Any]) -> None:
    data = vector("merkle-tlog/rfc6962_reference_tree.json")
    entries = [bytes.fromhex(h) for h in data["leaf_inputs_hex"]]
    roots = [bytes.fromhex(h) for h in data["root_by_tree_size_hex"]]
    assert [leaf_hash(e).hex() for e in entries] == data["leaf_hashes_hex"]
    tree = InMemoryTree()
    assert tree.root() == roots[0] == EMPTY_ROOT
    for size, entry in enumerate(entries, start=1):
        tree.append(entry)
        assert tree.root() == roots[size]
        assert root_from_leaf_hashes([leaf_hash(e) for e in entries[:size]]) == roots[size]
    for size in range(len(entries) + 1):
        assert tree.root(size) == roots[size]


def test_tdev_happy_proofs_are_what_the_tree_generates(vector: Callable[[str], Any]) -> None:
    data = vector("merkle-tlog/rfc6962_reference_tree.json")
    tree = _tree([bytes.fromhex(h) for h in data["leaf_inputs_hex"]])
    for name in _vector_names("inclusion"):
        case = vector(name)
        if name.endswith("happy-path.json") and case["treeSize"] <= tree.size:
            generated = tree.inclusion_proof(case["leafIdx"], case["treeSize"])
            assert generated == [_b64(p) for p in case["proof"] or []], name
    for name in _vector_names("consistency"):
        case = vector(name)
        if name.endswith("happy-path.json"):
            generated = tree.consistency_proof(case["size1"], case["size2"])
            assert generated == [_b64(p) for p in case["proof"] or []], name


# --- properties: honest proofs match the RFC and verify; tamperings fail -------

_size_and_index = st.integers(1, 200).flatmap(
    lambda n: st.tuples(st.just(n), st.integers(0, n - 1))
)
_sizes_pair = st.integers(0, 200).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n)))


@settings(max_examples=150, deadline=None)
@given(_size_and_index)
def test_every_inclusion_proof_matches_rfc_and_tamperings_fail(size_index: tuple[int, int]) -> None:
    size, index = size_index
    leaves = _leaves(size)
    tree = _tree(leaves)
    root = _reference_root(leaves)
    assert tree.root() == root
    proof = tree.inclusion_proof(index, size)
    assert proof == _reference_path(index, leaves)

    def verify(
        proof: list[bytes], *, leaf: bytes = leaf_hash(leaves[index]), at: int = index
    ) -> None:
        verify_inclusion(leaf_hash=leaf, index=at, tree_size=size, proof=proof, root=root)

    verify(proof)
    for name, bad in _tampered(proof):
        with pytest.raises(InclusionProofInvalid) as info:
            verify(bad)
        assert info.value.code == "ledger.inclusion_proof_invalid", name

    def verify_size(tree_size: int) -> None:
        verify_inclusion(
            leaf_hash=leaf_hash(leaves[index]),
            index=index,
            tree_size=tree_size,
            proof=proof,
            root=root,
        )

    # A size whose path has the same shape (3 and 4 for leaf 0) leads to the
    # same root; that is harmless, because a checkpoint signs size and root
    # together. Doubling or halving the size always changes the shape.
    attacks: list[Callable[[], None]] = [
        lambda: verify(proof, leaf=_flip(leaf_hash(leaves[index]))),  # wrong leaf
        lambda: verify(proof, at=size),  # index past the end
        lambda: verify(proof, at=-1),
        lambda: verify_inclusion(  # wrong root
            leaf_hash=leaf_hash(leaves[index]),
            index=index,
            tree_size=size,
            proof=proof,
            root=_flip(root),
        ),
        lambda: verify_size(size * 2),
    ]
    if size > 1:
        attacks.append(lambda: verify(proof, at=(index + 1) % size))  # wrong index
    if index < size // 2:
        attacks.append(lambda: verify_size(size // 2))
    for attack in attacks:
        with pytest.raises(InclusionProofInvalid):
            attack()


@settings(max_examples=150, deadline=None)
@given(_sizes_pair)
def test_every_consistency_proof_matches_rfc_and_tamperings_fail(sizes: tuple[int, int]) -> None:
    old, new = sizes
    leaves = _leaves(new)
    tree = _tree(leaves)
    old_root, new_root = _reference_root(leaves[:old]), _reference_root(leaves)
    proof = tree.consistency_proof(old, new)
    assert proof == ([] if old == 0 else _reference_subproof(old, leaves, True))
    assert tree.root(old) == old_root

    def verify(
        proof: list[bytes],
        *,
        o: int = old,
        n: int = new,
        o_root: bytes = old_root,
        n_root: bytes = new_root,
    ) -> None:
        verify_consistency(old_size=o, new_size=n, old_root=o_root, new_root=n_root, proof=proof)

    verify(proof)
    for name, bad in _tampered(proof):
        with pytest.raises(ConsistencyProofInvalid) as info:
            verify(bad)
        assert info.value.code == "ledger.consistency_proof_invalid", name
    # As for inclusion, only sizes that change the proof's shape are tamperings;
    # and the empty tree is consistent with every tree, whatever its size.
    attacks: list[Callable[[], None]] = [
        lambda: verify(proof, o_root=_flip(old_root)),
        lambda: verify(proof, o=new + 1),  # old larger than new
    ]
    if old > 0:
        attacks.append(lambda: verify(proof, n_root=_flip(new_root)))
        attacks.append(lambda: verify(proof, n=new * 2))
        attacks.append(lambda: verify(proof, o=old // 2))
    if old != new:
        attacks.append(lambda: verify(proof, o_root=new_root, n_root=old_root))  # swapped
    if 0 < old and old * 2 <= new:
        attacks.append(lambda: verify(proof, o=old * 2))
    if 0 < old < new // 2:
        attacks.append(lambda: verify(proof, n=new // 2))
    for attack in attacks:
        with pytest.raises(ConsistencyProofInvalid):
            attack()


def test_consistency_from_the_empty_tree() -> None:
    root = _reference_root(_leaves(5))
    verify_consistency(old_size=0, new_size=5, old_root=EMPTY_ROOT, new_root=root, proof=[])
    verify_consistency(old_size=0, new_size=0, old_root=EMPTY_ROOT, new_root=EMPTY_ROOT, proof=[])
    with pytest.raises(ConsistencyProofInvalid):  # claims a non-empty root for size 0
        verify_consistency(old_size=0, new_size=5, old_root=root, new_root=root, proof=[])
    with pytest.raises(ConsistencyProofInvalid):
        verify_consistency(old_size=0, new_size=5, old_root=EMPTY_ROOT, new_root=root, proof=[root])


def test_malformed_hashes_are_refused_with_their_own_code() -> None:
    good = leaf_hash(b"x")
    with pytest.raises(ProofMalformed) as info:
        verify_inclusion(leaf_hash=good[:31], index=0, tree_size=1, proof=[], root=good)
    assert info.value.code == "ledger.proof_malformed"
    with pytest.raises(ProofMalformed):
        root_from_inclusion_proof(leaf_hash=good, index=0, tree_size=2, proof=[good + b"\x00"])
    with pytest.raises(ProofMalformed):
        verify_consistency(old_size=1, new_size=2, old_root=good, new_root=b"", proof=[good])


# --- plans, appends, and the node budget ---------------------------------------


def test_plans_refuse_impossible_requests() -> None:
    for call in (
        lambda: inclusion_plan(5, 5),
        lambda: inclusion_plan(-1, 5),
        lambda: consistency_plan(6, 5),
        lambda: consistency_plan(-1, 5),
        lambda: root_plan(-1),
    ):
        with pytest.raises(ProofRequestInvalid) as info:
            call()
        assert info.value.code == "ledger.proof_request_invalid"
    tree = _tree(_leaves(3))
    with pytest.raises(ProofRequestInvalid):
        tree.inclusion_proof(0, 4)  # the tree never had 4 leaves
    with pytest.raises(ProofRequestInvalid):
        tree.root(4)


def _store_bug(call: Callable[[], object]) -> None:
    # A plain ValueError (a 500), deliberately not a GovidError (which a
    # client would receive as its own fault).
    with pytest.raises(ValueError) as info:
        call()
    assert not isinstance(info.value, GovidError)


def test_rehash_refuses_what_a_store_should_never_return() -> None:
    plan = inclusion_plan(3, 7)
    _store_bug(lambda: plan.rehash([EMPTY_ROOT] * (len(plan.nodes) + 1)))
    _store_bug(lambda: plan.rehash([b"short"] * len(plan.nodes)))
    assert ProofPlan(()).rehash([]) == []


def test_root_plan_follows_the_binary_decomposition() -> None:
    assert root_plan(0) == ()
    assert root_plan(13) == (NodeID(3, 0), NodeID(2, 2), NodeID(0, 12))
    assert root_from_subtree_hashes([]) == EMPTY_ROOT


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 300))
def test_compact_range_and_store_appends_write_the_same_nodes(size: int) -> None:
    compact = CompactRange()
    store: dict[NodeID, bytes] = {}
    for index, entry in enumerate(_leaves(size)):
        from_range = compact.append(leaf_hash(entry))
        from_store = nodes_completed_by_append(index, leaf_hash(entry), store.__getitem__)
        assert from_range == from_store
        store.update(from_store)
    assert compact.root() == _reference_root(_leaves(size))
    # Resume from the stored nodes, as a sequencer does after a restart.
    resumed = CompactRange.from_hashes(size, [store[n] for n in root_plan(size)])
    assert resumed == compact
    resumed.append(leaf_hash(b"next"))
    assert resumed.root() == root_from_leaf_hashes(
        [leaf_hash(e) for e in [*_leaves(size), b"next"]]
    )


def test_compact_range_refuses_hashes_that_do_not_fit_the_size() -> None:
    _store_bug(lambda: CompactRange.from_hashes(3, [EMPTY_ROOT]))  # size 3 has two subtrees
    _store_bug(lambda: CompactRange().append(b"not a hash"))


class _CountingStore:
    """A store of 'hashes' derived from node ids; counts every read."""

    def __init__(self) -> None:
        self.reads = 0

    def get_node(self, node: NodeID) -> bytes:
        self.reads += 1
        return hashlib.sha256(b"%d/%d" % node).digest()


_HUGE = st.sampled_from([10**6, 2**20, 2**20 + 1, 10**7])


@settings(max_examples=60, deadline=None)
@given(_HUGE.flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n - 1))))
def test_inclusion_proof_reads_at_most_log2_n_nodes(size_index: tuple[int, int]) -> None:
    size, index = size_index
    store = _CountingStore()
    proof = inclusion_plan(index, size).build(store.get_node)
    assert store.reads <= 2 * (size - 1).bit_length()
    assert len(proof) <= (size - 1).bit_length()


@settings(max_examples=60, deadline=None)
@given(_HUGE.flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_consistency_proof_reads_at_most_2_log2_n_nodes(sizes: tuple[int, int]) -> None:
    old, new = sizes
    store = _CountingStore()
    proof = consistency_plan(old, new).build(store.get_node)
    assert store.reads <= 2 * (new - 1).bit_length()
    assert len(proof) <= 2 * (new - 1).bit_length()
    assert len(root_plan(new)) <= new.bit_length()
