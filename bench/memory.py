"""Memory: bytes per million status entries and per cached DID document (tracemalloc).

- `memory.status_list.per_million`: a verified 10^6-entry, 2-bit status list
  kept in memory (`verify_status_list_token` result, as a verifier caches it),
  per million entries; ratio = bytes / the packed floor (10^6 x 2 / 8 bytes).
- `memory.status_list.token_per_million`: the signed token text kept as well
  (what a cache of raw tokens holds); ratio to the same floor.
- `memory.did_document.cached`: the resolver's cache (`did.resolver.Resolver`
  with `did:key`, 2,000 distinct Ed25519 keys resolved and kept), per
  document; ratio = bytes / the document's compact JSON size.

Allocation is measured by `tracemalloc` (current size after building minus
before, with the garbage collected), so the figures are Python heap bytes,
including object overhead; they are machine-independent and need no
interleaving.
"""

from __future__ import annotations

import gc
import json
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bench._harness import Record, Settings
from did.keys import generate_private_key

__all__ = ["measure", "run"]

DOCUMENTS = 2000


def measure(build: Callable[[], Any]) -> tuple[int, Any]:
    """Bytes still allocated after `build()` (its result kept alive), and the result."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        kept = build()
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    return after - before, kept


def _status_list(n: int) -> list[Record]:
    from bench.status_lists import IAT, URI, _list
    from did.status_list_token import build_status_list_token, verify_status_list_token

    key = generate_private_key("EdDSA")
    token = build_status_list_token(_list(n, 0.01, seed=1), key=key, uri=URI, iat=IAT, ttl=300)
    public = key.public_key()
    moment = datetime.fromtimestamp(IAT + 10, UTC)
    floor = n * 2 / 8
    size, verified = measure(
        lambda: verify_status_list_token(token, key=public, expected_uri=URI, now=moment)
    )
    assert verified.status_list.size >= n
    per_million = size * 1_000_000 / n
    token_size, _ = measure(lambda: (token + " ")[:-1])  # a private copy of the text
    token_per_million = token_size * 1_000_000 / n
    print(
        f"{'memory.status_list.per_million':<34} {per_million / 1024:9.1f} KiB per 10^6 entries "
        f"(packed floor {floor * 1_000_000 / n / 1024:.1f} KiB); token text "
        f"{token_per_million / 1024:.1f} KiB"
    )
    return [
        Record(
            "memory.status_list.per_million",
            round(per_million),
            "bytes",
            f"tracemalloc: a verified {n}-entry 2-bit status list kept in memory, per 10^6 "
            "entries; ratio = bytes / packed floor (250,000 bytes per 10^6 entries)",
            round(per_million / (floor * 1_000_000 / n), 3),
        ),
        Record(
            "memory.status_list.token_per_million",
            round(token_per_million),
            "bytes",
            "tracemalloc: the signed token text (1 % revoked) per 10^6 entries; ratio = bytes / "
            "packed floor (the compressed, twice base64-encoded list is smaller than the packed "
            "bytes)",
            round(token_per_million / (floor * 1_000_000 / n), 3),
        ),
    ]


def _did_documents() -> list[Record]:
    from did.methods.key import DIDKeyResolver, did_key_from_public_key
    from did.resolver import Resolver

    dids = [
        did_key_from_public_key(generate_private_key("EdDSA").public_key())
        for _ in range(DOCUMENTS)
    ]
    resolver = Resolver(
        [DIDKeyResolver()],
        clock=lambda: datetime.now(UTC),
        max_cache_entries=DOCUMENTS * 2,
    )
    resolver.resolve(dids[0])  # import-time and first-call allocations are not the cache
    resolver.clear_cache()

    def fill() -> Resolver:
        for did in dids:
            resolver.resolve(did)
        return resolver

    size, _ = measure(fill)
    per_document = size / DOCUMENTS
    document = resolver.resolve(dids[1]).to_json()
    compact = len(json.dumps(document, separators=(",", ":")).encode())
    print(
        f"{'memory.did_document.cached':<34} {per_document:9.0f} bytes per cached did:key "
        f"resolution ({compact} bytes as compact JSON)"
    )
    return [
        Record(
            "memory.did_document.cached",
            round(per_document),
            "bytes",
            f"tracemalloc: Resolver cache of {DOCUMENTS} did:key (Ed25519) resolution results, "
            f"per document; ratio = bytes / compact JSON size of one result ({compact} bytes)",
            round(per_document / compact, 3),
        )
    ]


def run(settings: Settings) -> list[Record]:
    del settings  # sizes, not times: nothing to repeat
    return _status_list(1_000_000) + _did_documents()
