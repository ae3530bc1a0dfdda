"""Hostile input to every parser of the core: nothing escapes but a `GovidError`.

Each parser gets arbitrary text or bytes, and mutations of a valid input
(truncation, a flipped byte, an inserted separator, deep nesting), from
hypothesis. A parser may accept or refuse; it may never raise anything else
(no `KeyError`, `RecursionError`, `UnicodeDecodeError`, ...), which would be a
500 at the HTTP edge.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from did.document import DIDDocument
from did.errors import GovidError
from did.identifiers import DID, DIDURL
from did.jose import parse_unverified_jws, verify_jws
from did.keys import from_multikey, generate_private_key, public_key_from_jwk
from did.methods.jwk import jwk_from_did_jwk
from did.methods.key import public_key_from_did_key
from did.sd_jwt import Disclosure, UnverifiedSDJWT
from did.status_list import StatusList, StatusReference
from registry import authoring
from registry.checkpoint import Checkpoint
from registry.entry import LogEntry
from registry.note import Note, NoteVerifier, parse_vkey
from registry.operations import Operation
from registry.witness_protocol import AddCheckpointRequest

LEDGER = "govid.example/registry"
_KEY = generate_private_key("EdDSA")
_VALID_OP = authoring.create_did(ledger=LEDGER)[1]

TEXT_PARSERS: dict[str, Callable[[str], object]] = {
    "did": DID.parse,
    "did_url": DIDURL.parse,
    "jws": parse_unverified_jws,
    "jws_verify": lambda t: verify_jws(t, _KEY.public_key(), typ=None),
    "sd_jwt": UnverifiedSDJWT.parse,
    "disclosure": Disclosure.parse,
    "multikey": from_multikey,
    "did_key": public_key_from_did_key,
    "did_jwk": jwk_from_did_jwk,
    "checkpoint": Checkpoint.parse,
    "note": Note.parse,
    "vkey": parse_vkey,
    "note_verifier": NoteVerifier.from_vkey,
    "operation": lambda t: Operation.parse(t, ledger=LEDGER),
}
BYTES_PARSERS: dict[str, Callable[[bytes], object]] = {
    "log_entry": LogEntry.parse,
    "witness_request": AddCheckpointRequest.parse,
    "note_bytes": Note.parse,
}
JSON_PARSERS: dict[str, Callable[[Any], object]] = {
    "status_list": StatusList.decode,
    "status_reference": StatusReference.parse,
    "jwk": public_key_from_jwk,
    "did_document": DIDDocument.from_json,
}

SEEDS: dict[str, str] = {
    "did": "did:govid:5BW4nJHdZnSgPpJm1VXYqeSTSg73nxAPzSAKFMTJSWeF",
    "did_url": "did:govid:abc/path?versionId=2#key-1",
    "jws": _VALID_OP,
    "jws_verify": _VALID_OP,
    "operation": _VALID_OP,
    "sd_jwt": _VALID_OP + "~WyJzYWx0IiwiYSIsMV0~",
    "disclosure": "WyJzYWx0IiwiZ2l2ZW5fbmFtZSIsIkpvaG4iXQ",
    "multikey": "z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
    "did_key": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
    "did_jwk": "did:jwk:"
    + "eyJrdHkiOiJPS1AiLCJjcnYiOiJFZDI1NTE5IiwieCI6IjExcVlBWUt4Q3JmVlNfN1R5V1FIT2c3aGN2UGFwaU1s"
    + "cndJYWFQY0hVUm8ifQ",
    "checkpoint": "govid.example/registry\n3\nsBDs9bvCMj5zl4pFcQsOLlMPX6/zGazxXdbFku3Dgik=\n",
    "note": "govid.example/registry\n1\nsBDs9bvCMj5zl4pFcQsOLlMPX6/zGazxXdbFku3Dgik=\n\n"
    + "\u2014 k ZmFrZQ==\n",
    "vkey": "govid.example/registry+0a274d32+AT/CRy87h1xPRh010wxhRTMHrwuIEDpxRrOHbarbJzs8",
    "note_verifier": "govid.example/registry+0a274d32+AT/CRy87h1xPRh010wxhRTMHrwuIEDpxRrOHbarbJzs8",
}


def _mutations(seed: str) -> st.SearchStrategy[str]:
    """Truncations, flipped characters, inserted separators and garbage around `seed`."""
    position = st.integers(0, max(0, len(seed)))
    return st.one_of(
        position.map(lambda i: seed[:i]),
        st.tuples(position, st.characters()).map(lambda p: seed[: p[0]] + p[1] + seed[p[0] + 1 :]),
        st.tuples(position, st.sampled_from(["~", ".", ":", "#", "\n", "\u2014", "%", "\x00"])).map(
            lambda p: seed[: p[0]] + p[1] + seed[p[0] :]
        ),
        st.text(max_size=40).map(lambda g: seed + g),
    )


_settings = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _only_govid_errors(parser: Callable[[Any], object], value: Any) -> None:
    try:
        parser(value)
    except GovidError:
        pass


@pytest.mark.parametrize("name", sorted(TEXT_PARSERS))
def test_text_parsers_on_arbitrary_text(name: str) -> None:
    @_settings
    @given(st.text(max_size=300))
    def run(text: str) -> None:
        _only_govid_errors(TEXT_PARSERS[name], text)

    run()


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_text_parsers_on_mutations_of_valid_input(name: str) -> None:
    @_settings
    @given(_mutations(SEEDS[name]))
    def run(text: str) -> None:
        _only_govid_errors(TEXT_PARSERS[name], text)

    run()


@pytest.mark.parametrize("name", sorted(BYTES_PARSERS))
def test_bytes_parsers_on_arbitrary_bytes(name: str) -> None:
    @_settings
    @given(st.binary(max_size=400))
    def run(data: bytes) -> None:
        _only_govid_errors(BYTES_PARSERS[name], data)

    run()


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@pytest.mark.parametrize("name", sorted(JSON_PARSERS))
def test_json_parsers_on_arbitrary_json(name: str) -> None:
    @_settings
    @given(_json)
    def run(value: Any) -> None:
        _only_govid_errors(JSON_PARSERS[name], value)

    run()


@pytest.mark.parametrize("name", sorted(BYTES_PARSERS))
def test_deeply_nested_json_is_refused_cleanly(name: str) -> None:
    nested = ("[" * 100_000 + "]" * 100_000).encode()
    _only_govid_errors(BYTES_PARSERS[name], nested)


def test_deeply_nested_jws_payload_is_refused_cleanly() -> None:
    from did._b64 import b64url_encode

    header = b64url_encode(json.dumps({"alg": "EdDSA"}).encode())
    payload = b64url_encode(b"[" * 100_000 + b"]" * 100_000)
    token = f"{header}.{payload}.{b64url_encode(b'x' * 64)}"
    for parser in (parse_unverified_jws, lambda t: Operation.parse(t, ledger=LEDGER)):
        _only_govid_errors(parser, token)
