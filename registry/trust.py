"""Building a client's `LedgerTrust` from configuration (CLI flags, settings): once.

`trust_from_vkeys` is the one builder every client uses (the verifier's and
the wallet's settings, the CLI); `trust_from_options` adds trust on first use
of the log key for a developer's command line.

The log's key name is its origin (C2SP tlog-checkpoint: the origin line is
the log's identity, and govid names the log key after it), so one vkey gives
both. Without a vkey the client fetches `/log/vkey` once: trust on first use,
acceptable for a developer's command line and said so in the warning; a
deployment pins the vkey and the witness keys in its settings.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

import httpx

from did.errors import ResolutionUnavailable
from registry.client import registry_fetcher
from registry.cosignature import WitnessVerifier
from registry.note import NoteVerifier
from registry.policy import WitnessPolicy
from registry.proofs import LedgerTrust

log = logging.getLogger("govid.registry.trust")


def fetch_log_vkey(url: str, *, client: httpx.Client | None = None) -> str:
    with registry_fetcher(client=client) as fetch:
        response = fetch.get(url.rstrip("/") + "/log/vkey")
    if response.status_code != 200:
        raise ResolutionUnavailable("the registry did not serve its log key")
    return response.text.strip()


def witness_policy(witness_vkeys: Sequence[str], quorum: int | None = None) -> WitnessPolicy:
    """The witnesses' keys and how many must cosign (all of them unless `quorum` says)."""
    witnesses = [WitnessVerifier.from_vkey(v) for v in witness_vkeys]
    return WitnessPolicy(witnesses, quorum if quorum is not None else len(witnesses))


def trust_from_vkeys(
    log_vkey: str,
    *,
    witness_vkeys: Sequence[str] = (),
    quorum: int | None = None,
    max_checkpoint_age: timedelta | None = None,
) -> LedgerTrust:
    """What a client trusts: the log key (its name is the origin) and the witness policy.

    Without witness keys the log operator alone is trusted
    (`LedgerTrust.unsafe_log_only`): tests, single-agency pilots, and clients
    that check the quorum themselves later (the verifier's lookups).
    """
    verifier = NoteVerifier.from_vkey(log_vkey)
    if not witness_vkeys:
        return LedgerTrust.unsafe_log_only(verifier.name, verifier)
    policy = witness_policy(witness_vkeys, quorum)
    return LedgerTrust(verifier.name, verifier, policy, max_checkpoint_age)


def trust_from_options(
    url: str,
    *,
    log_vkey: str | None,
    witness_vkeys: Sequence[str] = (),
    quorum: int | None = None,
    client: httpx.Client | None = None,
) -> LedgerTrust:
    if log_vkey is None:
        log.warning("trusting the registry's own log key (trust on first use); pin it")
        log_vkey = fetch_log_vkey(url, client=client)
    return trust_from_vkeys(log_vkey, witness_vkeys=witness_vkeys, quorum=quorum)
