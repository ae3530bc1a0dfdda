"""Content-addressed memory for the engine: the same bytes are never checked twice.

Every key is the exact text that was checked (log entries as served, a status
list token), so a cached result can only be reused for identical input; a
result depends on nothing else except where noted. Failures are never cached
(`functools.lru_cache` does not keep exceptions). Checks that depend on the
time (`exp`, `iat` age, checkpoint age) are not cached: callers run them on
every verification.

What this saves per presentation with warm lookups: re-parsing and
re-canonicalising every ledger entry of the issuer's history, re-verifying
their signatures while replaying the chain, and inflating the status list.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta

from did.encoding import b64url_decode
from did.errors import GovidError, MalformedInput, StatusListTokenInvalid
from did.keys import PublicKey, crv_of, public_key_bytes, public_key_from_bytes
from did.status_list_token import VerifiedStatusList, verify_status_list_token
from did.validity import check_time_claims
from registry.entry import LogEntry
from registry.errors import ProofMalformed
from registry.operations import Operation
from registry.rules import replay_did
from registry.state import DIDState

Link = tuple[Operation, int, int]
_EPOCH_PASS = datetime(2000, 1, 1, tzinfo=UTC)
_FOREVER = timedelta(days=365 * 200)


# Bounded: entries are at most 256 KiB, so this holds at most 256 MiB, usually far less.
@functools.lru_cache(maxsize=1024)
def parse_entry(raw: str, origin: str) -> Link:
    """An entry's operation, index and time, from its base64url bytes (NOT yet proven)."""
    try:
        entry = LogEntry.parse(b64url_decode(raw, what="the entry"))
    except MalformedInput as exc:
        raise ProofMalformed("a proven entry does not parse") from exc
    return Operation.parse(entry.operation, ledger=origin), entry.index, entry.time_ms


@functools.lru_cache(maxsize=2048)
def replay(raws: tuple[str, ...], origin: str) -> DIDState:
    """`replay_did` of these exact entries (every signature and the hash chain)."""
    return replay_did([parse_entry(raw, origin) for raw in raws])


@functools.lru_cache(maxsize=256)
def _decoded(
    token: str, crv: str, key: bytes, uri: str, algs: tuple[str, ...]
) -> VerifiedStatusList:
    codec = {"Ed25519": "ed25519-pub", "P-256": "p256-pub", "P-384": "p384-pub"}.get(crv)
    if codec is None:
        raise StatusListTokenInvalid("the status list token's key type is not accepted")
    # Signature, `sub` and the list itself; the time claims are checked by the
    # caller at every use, so the cache is asked with a `now` that always passes.
    return verify_status_list_token(
        token,
        key=public_key_from_bytes(codec, key),
        expected_uri=uri,
        now=_EPOCH_PASS,
        skew=_FOREVER,
        algs=algs,
    )


def status_list(
    token: str,
    *,
    key: PublicKey,
    uri: str,
    now: datetime,
    skew: timedelta,
    max_age: timedelta | None,
    algs: tuple[str, ...],
) -> VerifiedStatusList:
    """`verify_status_list_token`, with the signature and decoding remembered."""
    verified = _decoded(token, crv_of(key), public_key_bytes(key), uri, algs)
    claims: dict[str, float] = {"iat": verified.iat}
    if verified.exp is not None:
        claims["exp"] = verified.exp
    try:
        check_time_claims(claims, now=now, skew=skew, require_iat=True, max_iat_age=max_age)
    except GovidError as exc:
        raise StatusListTokenInvalid(f"the status list token is not valid ({exc.code})") from exc
    return verified
