"""RFC 9901, sd-jwt-python and SD-JWT VC vectors: verification and exact issuance.

Every compact presentation in the vector tree is verified with the issuer key
of its settings and must give the published processed payload. The examples
carry old `iat` values, so `now` is pinned to the KB-JWT's `iat` (or to the
credential's). Every specification with compact output is also re-issued with
the example's own salts and JSON spelling and must reproduce the payload and
the Disclosure strings exactly. The JWS JSON serialization (§8, OPTIONAL) is
not supported; those vectors are checked to be refused by the compact parser.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import yaml

from did.errors import GovidError
from did.keys import private_key_from_jwk, public_key_from_jwk
from did.sd_jwt import (
    issue_sd_jwt,
    parse_sd_jwt,
    rfc_example_json,
    verify_issued_sd_jwt,
    verify_sd_jwt,
    verify_sd_jwt_vc,
)
from tests.conftest import VECTORS
from tests.did.sd_jwt.conftest import ExampleKeys


def _case_dirs() -> list[str]:
    roots = [
        "sd-jwt/rfc9901-draft22/examples",
        "sd-jwt/sd-jwt-python-testcases",
        "sd-jwt/sd-jwt-python-examples",
        "sd-jwt-vc/regenerated-from-spec-yml",
    ]
    return sorted(
        str(p.relative_to(VECTORS))
        for root in roots
        for p in (VECTORS / root).iterdir()
        if p.is_dir()
    )


CASES = _case_dirs()
COMPACT_CASES = [
    c
    for c in CASES
    if not c.endswith(("json_serialization_flattened", "json_serialization_general"))
]
JSON_CASES = [c for c in CASES if c not in COMPACT_CASES]


def _first(case: str, stem: str) -> str:
    """`stem.txt` when the RFC prints it, else the `.REGENERATED.txt` copy."""
    for name in (f"{stem}.txt", f"{stem}.REGENERATED.txt"):
        if (VECTORS / case / name).is_file():
            return f"{case}/{name}"
    pytest.fail(f"no {stem} in {case}", pytrace=False)


def _issuer_public_jwk(case: str, vector: Callable[[str], Any]) -> dict[str, Any]:
    settings_path = VECTORS / case / ".." / "settings.yml"
    if settings_path.is_file():
        settings = yaml.safe_load(settings_path.read_text(encoding="utf-8"))["key_settings"]
        jwk: dict[str, Any] = settings.get("issuer_key") or settings["issuer_keys"][0]
        return jwk
    keys: dict[str, Any] = vector("sd-jwt/rfc9901-draft22/keys.json")["issuer"]
    return keys


def test_vector_tree_is_complete() -> None:
    assert len(COMPACT_CASES) >= 39
    assert len(JSON_CASES) == 6


@pytest.mark.parametrize("case", COMPACT_CASES)
def test_presentation_verifies_to_published_payload(
    case: str, vector: Callable[[str], Any], vector_text: Callable[[str], str]
) -> None:
    presentation = vector_text(_first(case, "sd_jwt_presentation")).strip()
    expected = vector(f"{case}/verified_contents.json")
    issuer_key = public_key_from_jwk(_issuer_public_jwk(case, vector))
    unverified = parse_sd_jwt(presentation)
    typ = unverified.jws.header["typ"]
    if unverified.kb_jwt is not None:
        kb = vector(f"{case}/kb_jwt_payload.json")
        now = datetime.fromtimestamp(kb["iat"], UTC)
        verified = verify_sd_jwt(
            presentation,
            issuer_key=issuer_key,
            typ=typ,
            now=now,
            expected_aud=kb["aud"],
            expected_nonce=kb["nonce"],
        )
        assert verified.key_binding == kb
    else:
        now = datetime.fromtimestamp(unverified.unverified_payload["iat"], UTC)
        verified = verify_sd_jwt(presentation, issuer_key=issuer_key, typ=typ, now=now)
        assert verified.key_binding is None
    assert verified.claims == expected


@pytest.mark.parametrize("case", COMPACT_CASES)
def test_issuance_verifies_for_the_holder(
    case: str, vector: Callable[[str], Any], vector_text: Callable[[str], str]
) -> None:
    issued = vector_text(_first(case, "sd_jwt_issuance")).strip()
    issuer_key = public_key_from_jwk(_issuer_public_jwk(case, vector))
    unverified = parse_sd_jwt(issued)
    # The JSON-LD example has no `iat`; any moment before its `exp` will do.
    now = datetime.fromtimestamp(unverified.unverified_payload.get("iat", 1_700_000_000), UTC)
    verified = verify_issued_sd_jwt(
        issued, issuer_key=issuer_key, typ=unverified.jws.header["typ"], now=now
    )
    # With every Disclosure at hand, the holder sees the full user claims.
    user_claims = vector(f"{case}/user_claims.json")
    for name, value in user_claims.items():
        assert verified.claims[name] == value, name
    assert len(verified.disclosed) == len(unverified.disclosures)


@pytest.mark.parametrize("case", COMPACT_CASES)
def test_issuance_is_reproduced_exactly(
    case: str,
    vector: Callable[[str], Any],
    vector_text: Callable[[str], str],
    rfc_keys: ExampleKeys,
) -> None:
    spec = vector(f"{case}/specification.json")
    published = parse_sd_jwt(vector_text(_first(case, "sd_jwt_issuance")).strip())
    if spec.get("add_decoy_claims"):
        # Decoy counts come from the generator's PRNG, not from the salts: only
        # the real Disclosures can be compared.
        pytest.xfail("decoy digests are drawn from the generator's PRNG")
    payload = vector(f"{case}/sd_jwt_payload.json")
    salts = iter([d.salt for d in published.disclosures])
    registered = {k: payload[k] for k in ("iss", "iat", "exp") if k in payload}
    user_claims = vector(f"{case}/user_claims.json")
    # The generator adds `cnf` from its holder key unless the claims already have one.
    add_cnf = "cnf" in payload and "cnf" not in user_claims
    issued = issue_sd_jwt(
        registered | user_claims,
        issuer_key=rfc_keys.issuer,
        typ="example+sd-jwt",
        disclosable=spec["selectively_disclosable_paths"],
        holder_key=rfc_keys.holder_public if add_cnf else None,
        salt=lambda: next(salts),
        encoder=rfc_example_json,
    )
    assert issued.payload == payload
    assert [d.encoded for d in issued.disclosures] == [d.encoded for d in published.disclosures]


@pytest.mark.parametrize("case", JSON_CASES)
def test_json_serialization_is_refused_by_the_compact_parser(
    case: str, vector_text: Callable[[str], str]
) -> None:
    text = vector_text(f"{case}/sd_jwt_presentation.json")
    with pytest.raises(GovidError) as exc:
        parse_sd_jwt(text)
    assert exc.value.code in ("sd_jwt.malformed", "jose.malformed")


def test_rfc_issuer_key_is_the_settings_key(vector: Callable[[str], Any]) -> None:
    keys = vector("sd-jwt/rfc9901-draft22/keys.json")
    private_key_from_jwk(keys["issuer"])  # the d/x/y triple is consistent
    assert (
        _issuer_public_jwk("sd-jwt/sd-jwt-python-testcases/no_sd", vector)["x"]
        == (keys["issuer"]["x"])
    )


# --- SD-JWT VC figures ---------------------------------------------------------------

_D18 = "sd-jwt-vc/draft-18"
_EDITORS = "sd-jwt-vc/editors-copy-2026-08-21"
_FIG08 = "fig08-presented-sd-jwt-kb-example.txt"
_FIG09 = "fig09-verified-sd-jwt-payload-example.json"
_FIG10 = "fig10-presented-sd-jwt-example.txt"
_FIG11 = "fig11-processed-sd-jwt-payload-example.json"
VC_KB_FIGURES = [
    (_D18, _FIG08, _FIG09),
    (_D18, "fig26-presented-sd-jwt-kb.txt", "fig28-processed-sd-jwt-payload.json"),
    (_EDITORS, _FIG08, _FIG09),
]
VC_PLAIN_FIGURES = [(_D18, _FIG10, _FIG11), (_EDITORS, _FIG10, _FIG11)]
VC_ISSUED_FIGURES = [
    ("sd-jwt-vc/draft-18", "fig07-sd-jwt-vc-example.txt"),
    ("sd-jwt-vc/draft-18", "fig24-issued-sd-jwt.txt"),
    ("sd-jwt-vc/editors-copy-2026-08-21", "fig07-sd-jwt-vc-example.txt"),
]


def _figure_index(folder: str, figure: str, vector: Callable[[str], Any]) -> dict[str, Any]:
    entries: list[dict[str, Any]] = vector(f"{folder}/index.json")
    return next(e for e in entries if e.get("file") == figure)


@pytest.mark.parametrize(("folder", "figure", "processed"), VC_KB_FIGURES)
def test_sd_jwt_vc_kb_figures(
    folder: str,
    figure: str,
    processed: str,
    vector: Callable[[str], Any],
    vector_text: Callable[[str], str],
    rfc_keys: ExampleKeys,
) -> None:
    kb = _figure_index(folder, figure, vector)["kb_payload"]
    result = verify_sd_jwt_vc(
        vector_text(f"{folder}/{figure}").strip(),
        issuer_key=rfc_keys.issuer_public,
        now=datetime.fromtimestamp(kb["iat"], UTC),
        expected_aud=kb["aud"],
        expected_nonce=kb["nonce"],
    )
    assert result.claims == vector(f"{folder}/{processed}")
    assert result.sd_jwt.key_binding == kb
    assert result.vct == result.claims["vct"]


@pytest.mark.parametrize(("folder", "figure", "processed"), VC_PLAIN_FIGURES)
def test_sd_jwt_vc_plain_figures(
    folder: str,
    figure: str,
    processed: str,
    vector: Callable[[str], Any],
    vector_text: Callable[[str], str],
    rfc_keys: ExampleKeys,
) -> None:
    presentation = vector_text(f"{folder}/{figure}").strip()
    now = datetime.fromtimestamp(parse_sd_jwt(presentation).unverified_payload["iat"], UTC)
    result = verify_sd_jwt_vc(presentation, issuer_key=rfc_keys.issuer_public, now=now)
    assert result.claims == vector(f"{folder}/{processed}")
    # Key Binding required, but this presentation has none.
    with pytest.raises(GovidError) as exc:
        verify_sd_jwt_vc(
            presentation,
            issuer_key=rfc_keys.issuer_public,
            now=now,
            expected_aud="https://example.com/verifier",
            expected_nonce="1234567890",
        )
    assert exc.value.code == "kb_jwt.missing"


@pytest.mark.parametrize(("folder", "figure"), VC_ISSUED_FIGURES)
def test_sd_jwt_vc_issued_figures(
    folder: str,
    figure: str,
    vector: Callable[[str], Any],
    vector_text: Callable[[str], str],
    rfc_keys: ExampleKeys,
) -> None:
    issued = vector_text(f"{folder}/{figure}").strip()
    entry = _figure_index(folder, figure, vector)
    unverified = parse_sd_jwt(issued)
    assert len(unverified.disclosures) == entry["n_disclosures"]
    now = datetime.fromtimestamp(unverified.unverified_payload["iat"], UTC)
    result = verify_sd_jwt_vc(issued, issuer_key=rfc_keys.issuer_public, now=now)
    assert len(result.sd_jwt.disclosed) == entry["n_disclosures"]
    assert result.iss == unverified.unverified_payload["iss"]


def test_example_json_spelling_is_the_reference_default() -> None:
    assert rfc_example_json(["s", "n", "ö"]) == json.dumps(["s", "n", "ö"]).encode()
