"""Hostile input to every parser: nothing escapes but a `GovidError`.

Each parser gets arbitrary text or bytes, and mutations of a valid input
(truncation, a flipped byte, an inserted separator, deep nesting), from
hypothesis. A parser may accept or refuse; it may never raise anything else
(no `KeyError`, `RecursionError`, `UnicodeDecodeError`, ...), which would be a
500 at the HTTP edge. Beyond the core: the OpenID4VC messages (key proofs,
credential requests, DCQL queries, vp_tokens, offline QR texts) and the CSV
import, from a row's cells to a whole hostile file.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from did.document import DIDDocument
from did.errors import GovidError
from did.identifiers import DID, DIDURL
from did.jose import parse_unverified_jws, sign_jws, verify_jws
from did.keys import from_multikey, generate_private_key, jwk_from_public_key, public_key_from_jwk
from did.methods.jwk import jwk_from_did_jwk
from did.methods.key import public_key_from_did_key
from did.sd_jwt import Disclosure, UnverifiedSDJWT
from did.status_list import StatusList, StatusReference
from issuer.context import IssuerContext
from issuer.credential_types import credential_type, validate_claims, vct_for
from issuer.importer import import_csv, row_claims
from issuer.openid4vci import CredentialRequest, check_proof
from openid4vc.dcql import DCQLQuery
from registry import authoring
from registry.checkpoint import Checkpoint
from registry.entry import LogEntry
from registry.note import Note, NoteVerifier, parse_vkey
from registry.operations import Operation
from registry.state import Accreditation
from registry.witness_protocol import AddCheckpointRequest
from verifier.offline import decode_offline, encode_offline
from verifier.openid4vp import parse_vp_token

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
    from did.encoding import b64url_encode

    header = b64url_encode(json.dumps({"alg": "EdDSA"}).encode())
    payload = b64url_encode(b"[" * 100_000 + b"]" * 100_000)
    token = f"{header}.{payload}.{b64url_encode(b'x' * 64)}"
    for parser in (parse_unverified_jws, lambda t: Operation.parse(t, ledger=LEDGER)):
        _only_govid_errors(parser, token)


# --- OpenID4VCI / OpenID4VP messages ---------------------------------------------------

_NOW = datetime.now(UTC)
_DCQL = {
    "credentials": [
        {
            "id": "pid",
            "format": "dc+sd-jwt",
            "meta": {"vct_values": ["https://govid.example/vct/civil-identity"]},
            "claims": [{"path": ["given_name"]}, {"path": ["address", "locality"]}],
        }
    ]
}
_QUERY = DCQLQuery.parse(_DCQL)
_HOLDER = generate_private_key("ES256")
_PROOF = sign_jws(
    json.dumps(
        {"aud": "https://issuer.example", "iat": int(_NOW.timestamp()), "nonce": "n"}
    ).encode(),
    _HOLDER,
    typ="openid4vci-proof+jwt",
    extra_header={"jwk": jwk_from_public_key(_HOLDER.public_key())},
)

OID4VC_TEXT_PARSERS: dict[str, Callable[[str], object]] = {
    "key_proof": lambda t: check_proof(t, audience="https://issuer.example", now=_NOW),
    "vp_token": lambda t: parse_vp_token(t, query=_QUERY),
    "offline_qr": decode_offline,
}
OID4VC_SEEDS: dict[str, str] = {
    "key_proof": _PROOF,
    "vp_token": json.dumps({"pid": [_VALID_OP + "~WyJzYWx0IiwiYSIsMV0~"]}),
    "offline_qr": encode_offline(_VALID_OP + "~"),
}
OID4VC_JSON_PARSERS: dict[str, Callable[[Any], object]] = {
    "credential_request": lambda v: CredentialRequest.parse(v, batch_size=4),
    "dcql_query": DCQLQuery.parse,
}


@pytest.mark.parametrize("name", sorted(OID4VC_TEXT_PARSERS))
def test_oid4vc_text_parsers_on_arbitrary_and_mutated_text(name: str) -> None:
    @_settings
    @given(st.text(max_size=300) | _mutations(OID4VC_SEEDS[name]))
    def run(text: str) -> None:
        _only_govid_errors(OID4VC_TEXT_PARSERS[name], text)

    run()
    OID4VC_TEXT_PARSERS[name](OID4VC_SEEDS[name])  # the seed itself is accepted


def _structured(seed: Any) -> st.SearchStrategy[Any]:
    """`seed` with one member replaced by arbitrary JSON, or arbitrary JSON."""
    if isinstance(seed, dict) and seed:
        return (
            st.sampled_from(sorted(seed)).flatmap(
                lambda k: _structured(seed[k]).map(lambda v: {**seed, k: v})
            )
            | _json
        )
    if isinstance(seed, list) and seed:
        return (
            st.integers(0, len(seed) - 1).flatmap(
                lambda i: _structured(seed[i]).map(lambda v: [*seed[:i], v, *seed[i + 1 :]])
            )
            | _json
        )
    return _json


_JSON_SEEDS: dict[str, Any] = {
    "credential_request": {"credential_configuration_id": "civil_identity",
                           "proofs": {"jwt": [_PROOF]}},
    "dcql_query": _DCQL,
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(OID4VC_JSON_PARSERS))
def test_oid4vc_json_parsers_on_arbitrary_and_mutated_json(name: str) -> None:
    @_settings
    @given(_structured(_JSON_SEEDS[name]))
    def run(value: Any) -> None:
        _only_govid_errors(OID4VC_JSON_PARSERS[name], value)

    run()
    OID4VC_JSON_PARSERS[name](_JSON_SEEDS[name])


@pytest.mark.parametrize("name", sorted(OID4VC_JSON_PARSERS))
def test_oid4vc_json_parsers_on_deep_nesting(name: str) -> None:
    deep: Any = 1
    for _ in range(50_000):
        deep = {"a": deep}
    for value in (deep, {"credentials": [deep]}, {"proofs": {"jwt": deep}}):
        _only_govid_errors(OID4VC_JSON_PARSERS[name], value)


# --- the CSV import ----------------------------------------------------------------------

_CIVIL = credential_type("civil_identity")
_COLUMNS = st.sampled_from(
    ["given_name", "family_name", "birthdate", "personal_id", "nationality", "address",
     "address.locality", "address.locality.x", "age_over_18", "given_name.x", "", " ", "."]
) | st.text(max_size=12)  # fmt: skip
_CELLS = st.none() | st.text(max_size=40) | st.sampled_from(["[" * 5000, "{}", "true", "1e999"])


def test_csv_rows_give_claims_or_govid_errors() -> None:
    @_settings
    @given(st.dictionaries(_COLUMNS, _CELLS, max_size=8))
    def run(row: dict[str, str | None]) -> None:
        try:
            validate_claims(_CIVIL, row_claims(_CIVIL, row))
        except GovidError:
            pass

    run()


class _Ledger:
    """Accredits everyone: the import's parsing is under test, not the ledger."""

    origin = LEDGER

    def submit(self, operation: str) -> dict[str, Any]:
        return {"operationHash": "x", "index": 0}

    def accreditations(self, did: str) -> list[Accreditation]:
        vcts = tuple(vct_for(t, "http://issuer.example") for t in (_CIVIL,))
        return [
            Accreditation(
                "a", did, "root", "issuer", vcts, (), 0, 2**40, 1, granted_by="#k", granted_ms=0
            )
        ]


@pytest.fixture(scope="module")
def import_ctx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IssuerContext]:
    from issuer.agencies import create_agency
    from issuer.keys_at_rest import KEK, new_kek_text
    from issuer.migrations import upgrade
    from issuer.settings import IssuerSettings
    from service.database import make_engine

    db = tmp_path_factory.mktemp("import") / "issuer.db"
    settings = IssuerSettings(database_url=f"sqlite:///{db}", public_url="http://issuer.example")
    ctx = IssuerContext(settings, make_engine(settings.url()), KEK.parse(new_kek_text()), _Ledger())
    upgrade(ctx.engine)
    create_agency(ctx, slug="civil", name="Civil", type_ids=["civil_identity"])
    yield ctx
    ctx.engine.dispose()


_CSV_SEED = (
    b"personal_id,given_name,family_name,birthdate,nationality,address.locality,address.country\n"
    b"ID-0001,Ana,Silva,1990-01-02,PT,Porto,PT\n"
)


def test_csv_import_of_hostile_files_raises_only_govid_errors(
    import_ctx: IssuerContext, tmp_path: Path
) -> None:
    position = st.integers(0, len(_CSV_SEED))
    files = st.one_of(
        st.binary(max_size=300),
        position.map(lambda i: _CSV_SEED[:i]),
        st.tuples(position, st.binary(min_size=1, max_size=4)).map(
            lambda p: _CSV_SEED[: p[0]] + p[1] + _CSV_SEED[p[0] :]
        ),
        st.just(_CSV_SEED + b"ID-0002,\x00,B,1990-01-02,PT,X,PT\n"),
        st.just(b"\xff\xfe" + _CSV_SEED),
        st.just(_CSV_SEED.replace(b"Porto", b'"' + b"[" * 3000 + b'"')),
    )
    counter = [0]

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(files)
    def run(data: bytes) -> None:
        counter[0] += 1
        source = tmp_path / f"in-{counter[0]}.csv"
        source.write_bytes(data)
        try:
            import_csv(
                import_ctx,
                agency="civil",
                configuration_id="civil_identity",
                source=source,
                result=tmp_path / f"out-{counter[0]}.csv",
            )
        except GovidError:
            pass

    run()
