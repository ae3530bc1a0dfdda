"""SD-JWT VC benchmarks: issue, present, verify, against the crypto floor and `sd_jwt`.

The credential is the same for every figure: an SD-JWT VC with 10 selectively
disclosable subject claims (plus `iss`, `vct`, `iat`, `exp`, `cnf` in the
clear), presented with 3 of them and a Key Binding JWT. It is issued once with
an ES256 and once with an EdDSA issuer key; the holder key is ES256 in both
cases because the reference implementation checks KB-JWTs with ES256 only.

Floors are the unavoidable cryptography done with the fastest binding at hand
(`cryptography` for ECDSA, PyNaCl/libsodium for Ed25519) and nothing else:

- issue: one issuer signature + SHA-256 over each of the 10 Disclosures;
- present: one KB-JWT signature + SHA-256 over the presented SD-JWT (`sd_hash`);
- verify: issuer signature check + KB-JWT signature check + SHA-256 over the 3
  presented Disclosures and over the SD-JWT (`sd_hash`).

A floor ratio of 1.0 would mean govid adds nothing to the cryptography.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

import nacl.bindings
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from bench._harness import Comparison, Record, Settings, compare, print_comparison, worst
from did.encoding import b64url_decode
from did.keys import PrivateKey, PublicKey, generate_private_key, jwk_from_public_key
from did.sd_jwt import issue_sd_jwt_vc, parse_sd_jwt, present_sd_jwt, verify_sd_jwt_vc

__all__ = ["ISSUER_ALGS", "Scenario", "run", "scenario", "subjects"]

ISSUER_ALGS = ("ES256", "EdDSA")

NOW = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
AUD = "https://counter.social-security.example.gov"
NONCE = "kUq4D3xbK0qL1u8Yb0w3Rw"
ISS = "did:govid:EiCivilAffairsAgency"
VCT = "https://govid.example.gov/vct/civil-identity"

CLAIMS: dict[str, Any] = {
    "given_name": "Nguyen Thi",
    "family_name": "Mai",
    "birthdate": "1990-02-03",
    "nationality": "VN",
    "personal_id": "079190001234",
    "sex": "F",
    "place_of_birth": "Hue",
    "address": {"street_address": "12 Le Loi", "locality": "Hue", "country": "VN"},
    "document_number": "C1234567",
    "issuing_authority": "Civil Affairs Department",
}
DISCLOSABLE = [(name,) for name in CLAIMS]
DISCLOSED = [("given_name",), ("family_name",), ("birthdate",)]


def _sha256_all(texts: list[bytes]) -> None:
    for text in texts:
        hashlib.sha256(text).digest()


@dataclass(frozen=True)
class Scenario:
    """Everything one issuer algorithm's figures need, built once."""

    alg: str
    issuer: PrivateKey
    holder: ec.EllipticCurvePrivateKey
    issued: str
    presentation: str

    @property
    def issuer_public(self) -> PublicKey:
        return self._public[0]

    @property
    def holder_public(self) -> PublicKey:
        return self._public[1]

    @cached_property
    def _public(self) -> tuple[PublicKey, PublicKey]:
        # Built once, as a verifier or an issuer holds its keys: key construction
        # is not what the figures measure.
        return self.issuer.public_key(), self.holder.public_key()

    def issue(self) -> object:
        return issue_sd_jwt_vc(
            CLAIMS,
            issuer_key=self.issuer,
            iss=ISS,
            vct=VCT,
            iat=NOW - timedelta(days=1),
            exp=NOW + timedelta(days=365),
            holder_key=self.holder_public,
            disclosable=DISCLOSABLE,
        )

    def present(self) -> str:
        return present_sd_jwt(
            self.issued, disclose=DISCLOSED, holder_key=self.holder, aud=AUD, nonce=NONCE, now=NOW
        )

    def verify(self) -> dict[str, Any]:
        return verify_sd_jwt_vc(
            self.presentation,
            issuer_key=self.issuer_public,
            now=NOW,
            expected_aud=AUD,
            expected_nonce=NONCE,
        ).claims


def scenario(alg: str) -> Scenario:
    issuer = generate_private_key(alg)
    holder = generate_private_key("ES256")
    assert isinstance(holder, ec.EllipticCurvePrivateKey)
    draft = Scenario(alg, issuer, holder, "", "")
    issued = str(draft.issue())
    with_issued = Scenario(alg, issuer, holder, issued, "")
    return Scenario(alg, issuer, holder, issued, with_issued.present())


# --- floors ----------------------------------------------------------------------


def _signer(key: PrivateKey) -> Callable[[bytes], object]:
    """The fastest raw signature for `key`: libsodium for Ed25519, `cryptography` for EC."""
    if isinstance(key, ed25519.Ed25519PrivateKey):
        seed = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        _, secret = nacl.bindings.crypto_sign_seed_keypair(seed)
        return lambda data: nacl.bindings.crypto_sign(data, secret)
    algorithm = ec.ECDSA(hashes.SHA256())
    return lambda data: key.sign(data, algorithm)


def _checker(key: PrivateKey, jwt: str) -> Callable[[], object]:
    """The fastest raw check of `jwt`'s signature, inputs prepared in advance."""
    head, _, sig_b64 = jwt.rpartition(".")
    data, sig = head.encode("ascii"), b64url_decode(sig_b64)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        signed = sig + data
        return lambda: nacl.bindings.crypto_sign_open(signed, raw)
    public = key.public_key()
    der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
    algorithm = ec.ECDSA(hashes.SHA256())
    return lambda: public.verify(der, data, algorithm)


def issue_floor(s: Scenario) -> Callable[[], None]:
    parsed = parse_sd_jwt(s.issued)
    signing_input = parsed.jws.signing_input
    disclosures = [d.encoded.encode("ascii") for d in parsed.disclosures]
    sign = _signer(s.issuer)

    def floor() -> None:
        sign(signing_input)
        _sha256_all(disclosures)

    return floor


def present_floor(s: Scenario) -> Callable[[], None]:
    parsed = parse_sd_jwt(s.presentation)
    assert parsed.kb_jwt is not None
    kb_input = parsed.kb_jwt.rpartition(".")[0].encode("ascii")
    sd_jwt = [parsed.sd_jwt.encode("ascii")]
    sign = _signer(s.holder)

    def floor() -> None:
        sign(kb_input)
        _sha256_all(sd_jwt)

    return floor


def verify_floor(s: Scenario) -> Callable[[], None]:
    parsed = parse_sd_jwt(s.presentation)
    assert parsed.kb_jwt is not None
    issuer_check = _checker(s.issuer, parsed.issuer_jwt)
    kb_check = _checker(s.holder, parsed.kb_jwt)
    digests = [d.encoded.encode("ascii") for d in parsed.disclosures]
    digests.append(parsed.sd_jwt.encode("ascii"))

    def floor() -> None:
        issuer_check()
        kb_check()
        _sha256_all(digests)

    return floor


# --- the reference implementation -------------------------------------------------


def reference_verify(s: Scenario) -> Callable[[], Any]:
    """`sd_jwt` 0.10.4 verifying the same presentation (its issuer JWK built once)."""
    from jwcrypto.jwk import JWK
    from sd_jwt.verifier import SDJWTVerifier

    issuer_jwk = JWK(**jwk_from_public_key(s.issuer.public_key()))

    def verify() -> Any:
        return SDJWTVerifier(
            s.presentation, lambda _iss, _header: issuer_jwk, expected_aud=AUD, expected_nonce=NONCE
        ).get_verified_payload()

    return verify


# --- the suite --------------------------------------------------------------------


def subjects() -> dict[str, Callable[[], object]]:
    """govid's measured operations by name, for `python -m bench --profile NAME`."""
    result: dict[str, Callable[[], object]] = {}
    for alg in ISSUER_ALGS:
        s = scenario(alg)
        result[f"sdjwt.issue.{alg}"] = s.issue
        result[f"sdjwt.present.{alg}"] = s.present
        result[f"sdjwt.verify.{alg}"] = s.verify
        result[f"sdjwt.reference_verify.{alg}"] = reference_verify(s)
    return result


_FLOOR_NOTE = "ratio = govid / floor (1.0 is the floor; lower is better)"
_REF_NOTE = "ratio = reference sd_jwt 0.10.4 time / govid time (>1: govid faster)"

# The aims of the performance issue: (headline record, test on its ratio, wording).
AIMS: tuple[tuple[str, Callable[[float], bool], str], ...] = (
    ("sdjwt.issue.vs_floor", lambda r: r <= 1.3, "<= 1.3"),
    ("sdjwt.verify.vs_floor", lambda r: r <= 1.3, "<= 1.3"),
    ("sdjwt.verify.vs_reference", lambda r: r >= 2.5, ">= 2.5"),
)


def _sanity(s: Scenario) -> None:
    """Both implementations accept the presentation and see the same claims."""
    ours = s.verify()
    theirs = reference_verify(s)()
    if ours != theirs:
        raise AssertionError(f"govid and sd_jwt disagree on the {s.alg} presentation")
    if not {"given_name", "family_name", "birthdate"} <= ours.keys() or "sex" in ours:
        raise AssertionError("the presentation does not disclose the 3 chosen claims")


def run(settings: Settings) -> list[Record]:
    records: list[Record] = []
    per_alg: dict[str, list[Record]] = {}

    def add(key: str, record: Record) -> None:
        records.append(record)
        per_alg.setdefault(key, []).append(record)

    for alg in ISSUER_ALGS:
        s = scenario(alg)
        _sanity(s)
        sig = "libsodium crypto_sign" if alg == "EdDSA" else "cryptography ES256 sign"
        chk = "libsodium crypto_sign_open" if alg == "EdDSA" else "cryptography ES256 verify"
        cases: list[tuple[str, Comparison, str, bool]] = [
            (
                "sdjwt.issue.vs_floor",
                compare(s.issue, issue_floor(s), settings),
                f"floor: {sig} (issuer {alg}) + SHA-256 of 10 disclosures; {_FLOOR_NOTE}",
                False,
            ),
            (
                "sdjwt.present.vs_floor",
                compare(s.present, present_floor(s), settings),
                "floor: cryptography ES256 sign (holder KB-JWT) + SHA-256 sd_hash; " + _FLOOR_NOTE,
                False,
            ),
            (
                "sdjwt.verify.vs_floor",
                compare(s.verify, verify_floor(s), settings),
                f"floor: {chk} (issuer {alg}) + cryptography ES256 verify (KB-JWT) + "
                f"SHA-256 of 3 disclosures and sd_hash; {_FLOOR_NOTE}",
                False,
            ),
            (
                "sdjwt.verify.vs_reference",
                compare(s.verify, reference_verify(s), settings),
                f"reference: sd_jwt 0.10.4 SDJWTVerifier on the same {alg} presentation; "
                + _REF_NOTE,
                True,
            ),
        ]
        for name, comparison, reference, invert in cases:
            full = f"{name}.{alg}"
            if invert:
                label = f"reference/govid = {1 / comparison.ratio:.2f}x"
                print_comparison(full, comparison, "govid", "sd_jwt", label)
            else:
                label = f"govid/floor = {comparison.ratio:.2f}x"
                print_comparison(full, comparison, "govid", "floor", label)
            add(name, comparison.record(full, reference, invert=invert))

    for name, group in per_alg.items():
        higher_is_worse = not name.endswith("vs_reference")
        note = f"worst of the {' and '.join(ISSUER_ALGS)} issuer keys (see {name}.<alg>); " + (
            _FLOOR_NOTE if higher_is_worse else _REF_NOTE
        )
        records.append(worst(group, name, note, higher_is_worse=higher_is_worse))

    by_name = {r.name: r for r in records}
    for name, ok, wording in AIMS:
        ratio = by_name[name].ratio
        print(f"aim {name} {wording}: {ratio:.2f} {'met' if ok(ratio) else 'NOT met'}")
    return records
