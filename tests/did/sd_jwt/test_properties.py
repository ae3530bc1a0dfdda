"""Property: issue → present a random subset → verify gives the claims minus the withheld ones."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from did.keys import generate_private_key
from did.sd_jwt import ClaimPath, issue_sd_jwt, present_sd_jwt, verify_sd_jwt

NOW = datetime(2026, 3, 1, tzinfo=UTC)
ISSUER = generate_private_key("EdDSA")
HOLDER = generate_private_key("EdDSA")
RESERVED = {"_sd", "_sd_alg", "...", "cnf"}  # cnf comes from holder_key

_scalars = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=8)
_names = st.text(max_size=6).filter(lambda n: n not in RESERVED)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_names, inner, max_size=4),
    max_leaves=15,
)
_claims = st.dictionaries(_names, _values, max_size=6)


def _paths(node: Any, prefix: ClaimPath = ()) -> list[ClaimPath]:
    found: list[ClaimPath] = []
    if isinstance(node, dict):
        for key, value in node.items():
            found.append((*prefix, key))
            found.extend(_paths(value, (*prefix, key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.append((*prefix, index))
            found.extend(_paths(value, (*prefix, index)))
    return found


def _expected(node: Any, path: ClaimPath, sd: set[ClaimPath], shown: set[ClaimPath]) -> Any:
    """The reference model: drop every SD claim that is not shown, recursively."""
    if isinstance(node, dict):
        return {
            k: _expected(v, (*path, k), sd, shown)
            for k, v in node.items()
            if (*path, k) not in sd or (*path, k) in shown
        }
    if isinstance(node, list):
        return [
            _expected(v, (*path, i), sd, shown)
            for i, v in enumerate(node)
            if (*path, i) not in sd or (*path, i) in shown
        ]
    return node


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), claims=_claims, decoys=st.integers(0, 3), bind=st.booleans())
def test_issue_present_verify(
    data: st.DataObject, claims: dict[str, Any], decoys: int, bind: bool
) -> None:
    all_paths = _paths(claims)
    sd = set(
        data.draw(st.lists(st.sampled_from(all_paths), unique=True) if all_paths else st.just([]))
    )
    chosen = set(
        data.draw(
            st.lists(st.sampled_from(sorted(sd, key=repr)), unique=True) if sd else st.just([])
        )
    )
    issued = issue_sd_jwt(
        claims,
        issuer_key=ISSUER,
        typ="example+sd-jwt",
        disclosable=sd,
        holder_key=HOLDER.public_key() if bind else None,
        decoys=decoys,
    )
    # A predicate asks about each Disclosure on its own; parents are added.
    presentation = present_sd_jwt(
        issued,
        disclose=lambda path, value: path in chosen,
        holder_key=HOLDER if bind else None,
        aud="a" if bind else None,
        nonce="n" if bind else None,
        now=NOW,
    )
    result = verify_sd_jwt(
        presentation,
        issuer_key=ISSUER.public_key(),
        typ="example+sd-jwt",
        now=NOW,
        expected_aud="a" if bind else None,
        expected_nonce="n" if bind else None,
    )
    # Shown = chosen plus every SD ancestor of a chosen claim.
    shown = {p for p in sd if any(c[: len(p)] == p for c in chosen)}
    got = {k: v for k, v in result.claims.items() if k != "cnf"}
    assert got == _expected(claims, (), sd, shown)
    # Everything disclosed to the holder comes back in full.
    full = verify_sd_jwt(
        issued.serialize(), issuer_key=ISSUER.public_key(), typ="example+sd-jwt", now=NOW
    )
    assert {k: v for k, v in full.claims.items() if k != "cnf"} == claims


def _objects(node: Any) -> list[dict[str, Any]]:
    """Every JSON object of an issued payload, depth first."""
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        found.append(node)
        for value in node.values():
            found.extend(_objects(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_objects(value))
    return found


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), claims=_claims, pad=st.integers(0, 6), decoys=st.integers(0, 3))
def test_padding_fixes_the_sd_count_and_changes_no_claim(
    data: st.DataObject, claims: dict[str, Any], pad: int, decoys: int
) -> None:
    """RFC 9901 §4.2.5: every object's `_sd` holds at least `pad` digests, at most
    `pad` (or its real count) plus `decoys`; the verified claims are unchanged."""
    all_paths = _paths(claims)
    sd = set(
        data.draw(st.lists(st.sampled_from(all_paths), unique=True) if all_paths else st.just([]))
    )
    issued = issue_sd_jwt(
        claims,
        issuer_key=ISSUER,
        typ="example+sd-jwt",
        disclosable=sd,
        decoys=decoys,
        sd_padding=lambda path: pad,
    )
    real = {d.digest() for d in issued.disclosures}
    for obj in _objects(issued.payload):
        if "..." in obj and len(obj) == 1:
            continue  # an array element's digest, not an object of claims
        digests = obj.get("_sd", [])
        own = len(real.intersection(digests))
        assert max(pad, own) <= len(digests) <= max(pad, own) + decoys
    full = verify_sd_jwt(
        issued.serialize(), issuer_key=ISSUER.public_key(), typ="example+sd-jwt", now=NOW
    )
    assert full.claims == claims
