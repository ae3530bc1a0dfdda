"""Building a client's `LedgerTrust` from configuration (CLI flags, settings).

The log's key name is its origin (C2SP tlog-checkpoint: the origin line is
the log's identity, and govid names the log key after it), so one vkey gives
both. Without a vkey the client fetches `/log/vkey` once: trust on first use,
acceptable for a developer's command line and said so in the warning; a
deployment pins the vkey and the witness keys in its settings.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

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
    verifier = NoteVerifier.from_vkey(log_vkey)
    if not witness_vkeys:
        return LedgerTrust.unsafe_log_only(verifier.name, verifier)
    witnesses = [WitnessVerifier.from_vkey(v) for v in witness_vkeys]
    policy = WitnessPolicy(witnesses, quorum if quorum is not None else len(witnesses))
    return LedgerTrust(verifier.name, verifier, policy)
