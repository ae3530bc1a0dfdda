"""Keys in three shapes (did/keys.py): multibase and multicodec vectors, did:key key
material, JWK round trips, RFC 8037/7638 thumbprints, and refusals of bad input."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import base58
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from hypothesis import given
from hypothesis import strategies as st
from multiformats import multicodec

from did.encoding import b64url_decode, b64url_encode
from did.errors import GovidError, InvalidKey, InvalidMultibase, UnsupportedKeyType
from did.keys import (
    SUPPORTED_ALGS,
    PrivateKey,
    crv_of,
    default_alg,
    from_multikey,
    generate_private_key,
    jwk_from_private_key,
    jwk_from_public_key,
    jwk_thumbprint,
    jwk_thumbprint_uri,
    jwk_to_multikey,
    multibase_base58btc_decode,
    multibase_base58btc_encode,
    multikey_to_jwk,
    private_from_multikey,
    private_key_from_jwk,
    private_to_multikey,
    public_jwk,
    public_key_bytes,
    public_key_from_bytes,
    public_key_from_jwk,
    same_public_key,
    to_multikey,
)

SUPPORTED_CODECS = ("ed25519-pub", "p256-pub", "p384-pub", "p521-pub", "secp256k1-pub")
_ALG_OF_CODEC = {"ed25519-pub": "EdDSA", "p256-pub": "ES256", "p384-pub": "ES384"}
_ALG_OF_CODEC |= {"p521-pub": "ES512", "secp256k1-pub": "ES256K"}
_CURVES: dict[str, type[ec.EllipticCurve]] = {
    "P-256": ec.SECP256R1,
    "P-384": ec.SECP384R1,
    "P-521": ec.SECP521R1,
    "secp256k1": ec.SECP256K1,
}
_ORDERS = {
    "P-256": 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
    "P-384": int(
        "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF"
        "581A0DB248B0A77AECEC196ACCC52973",
        16,
    ),
    "P-521": int(  # SEC 2 §2.6.1
        "01FF" + "FFFFFFFF" * 7 + "FFFFFFFA"
        "51868783BF2F966B7FCC0148F709A5D03BB5C9B8899C47AEBB6FB71E91386409",
        16,
    ),
    "secp256k1": 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141,
}


def _csv_rows(text: str) -> dict[str, str]:
    rows = csv.reader(io.StringIO(text), skipinitialspace=True)
    return {row[0]: row[1] for row in rows if len(row) == 2}


# --- multibase and multicodec vectors -----------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "multibase-basic.csv",
        "multibase-leading_zero.csv",
        "multibase-two_leading_zeros.csv",
    ],
)
def test_multibase_base58btc_vectors(vector_text: Callable[[str], str], name: str) -> None:
    rows = _csv_rows(vector_text(f"multiformats/{name}"))
    plain = rows["encoding"].encode("ascii").decode("unicode_escape").encode("latin-1")
    encoded = rows["base58btc"]
    assert multibase_base58btc_decode(encoded) == plain
    assert multibase_base58btc_encode(plain) == encoded


def test_multibase_other_bases_are_refused(vector_text: Callable[[str], str]) -> None:
    rows = _csv_rows(vector_text("multiformats/multibase-basic.csv"))
    for name in ("base16", "base32", "base64", "base64url"):
        with pytest.raises(InvalidMultibase):
            multibase_base58btc_decode(rows[name])


def test_multicodec_key_prefixes(vector: Callable[[str], Any]) -> None:
    rows = {r["name"]: r for r in vector("multiformats/multicodec-key-codecs.extracted.json")}
    for codec in SUPPORTED_CODECS:
        row = rows[codec]
        key = generate_private_key(_ALG_OF_CODEC[codec]).public_key()
        raw = multibase_base58btc_decode(to_multikey(key))
        prefix = bytes.fromhex(row["varint_prefix_hex_computed"])
        assert raw.startswith(prefix)
        assert len(raw) - len(prefix) == row["key_length_bytes"]
        assert to_multikey(key).startswith(row["base58btc_multibase_common_prefix_computed"])


# --- did:key vectors: the key material ----------------------------------------


def _supported_did_key_vectors(vector: Callable[[str], Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = vector("did-key/did_key_vectors_normalized.json")
    return [r for r in rows if r["multicodec"] in SUPPORTED_CODECS]


def test_did_key_vectors_key_material(vector: Callable[[str], Any]) -> None:
    rows = _supported_did_key_vectors(vector)
    assert {r["multicodec"] for r in rows} == set(SUPPORTED_CODECS)
    for row in rows:
        multikey = row["did"].removeprefix("did:key:")
        key = from_multikey(multikey)
        assert public_key_bytes(key).hex() == row["raw_public_key_hex_computed"]
        assert to_multikey(key) == multikey
        if "public_jwk_computed" not in row:  # the P-521 rows carry no JWK
            continue
        assert jwk_from_public_key(key) == row["public_jwk_computed"]
        assert multikey_to_jwk(multikey) == row["public_jwk_computed"]
        assert jwk_to_multikey(row["public_jwk_computed"]) == multikey


def test_did_key_2022_ed25519_seeds(vector: Callable[[str], Any]) -> None:
    vectors = vector("did-key/w3c-ccg-did-method-key-2022/ed25519-x25519.json")
    for did, entry in vectors.items():
        seed = bytes.fromhex(entry["seed"])
        private = ed25519.Ed25519PrivateKey.from_private_bytes(seed)
        assert to_multikey(private.public_key()) == did.removeprefix("did:key:")
        round_tripped = private_from_multikey(private_to_multikey(private))
        assert same_public_key(round_tripped.public_key(), private.public_key())


@pytest.mark.parametrize("codec", ["bls12_381-g2-pub", "x25519-pub", "rsa-pub"])
def test_did_key_vectors_of_unsupported_types(vector: Callable[[str], Any], codec: str) -> None:
    rows = vector("did-key/did_key_vectors_normalized.json")
    for row in (r for r in rows if r["multicodec"] == codec):
        with pytest.raises(UnsupportedKeyType) as info:
            from_multikey(row["did"].removeprefix("did:key:"))
        assert info.value.code == "key.unsupported"


# --- JOSE vectors ---------------------------------------------------------------


def test_rfc8037_thumbprint_and_keys(vector: Callable[[str], Any]) -> None:
    jose = vector("jose/jose_rfc8037_rfc7638_vectors.json")["rfc8037"]
    assert jwk_thumbprint(jose["A.2_public_key_jwk"]) == jose["A.3_thumbprint"]["thumbprint_b64url"]
    assert (
        jwk_thumbprint(jose["A.1_private_key_jwk"]) == jose["A.3_thumbprint"]["thumbprint_b64url"]
    )
    private = private_key_from_jwk(jose["A.1_private_key_jwk"])
    assert jwk_from_private_key(private) == jose["A.1_private_key_jwk"]
    assert public_jwk(jose["A.1_private_key_jwk"]) == jose["A.2_public_key_jwk"]
    assert jwk_thumbprint_uri(jose["A.2_public_key_jwk"]).endswith(
        jose["A.3_thumbprint"]["thumbprint_b64url"]
    )


def test_rfc7638_rsa_and_x25519_are_unsupported(vector: Callable[[str], Any]) -> None:
    jose = vector("jose/jose_rfc8037_rfc7638_vectors.json")
    for jwk in (jose["rfc7638"]["jwk"], jose["rfc8037"]["A.6_ecdh_es_x25519"]["epk_jwk"]):
        with pytest.raises(UnsupportedKeyType):
            public_key_from_jwk(jwk)


# --- round trips ----------------------------------------------------------------


@st.composite
def private_keys(draw: st.DrawFn) -> PrivateKey:
    crv = draw(st.sampled_from(["Ed25519", *_CURVES]))
    if crv == "Ed25519":
        return ed25519.Ed25519PrivateKey.from_private_bytes(
            draw(st.binary(min_size=32, max_size=32))
        )
    scalar = draw(st.integers(min_value=1, max_value=_ORDERS[crv] - 1))
    return ec.derive_private_key(scalar, _CURVES[crv]())


@given(private_keys())
def test_multikey_and_jwk_round_trip_for_all_curves(private: PrivateKey) -> None:
    key = private.public_key()
    multikey, jwk = to_multikey(key), jwk_from_public_key(key)
    assert same_public_key(from_multikey(multikey), key)
    assert same_public_key(public_key_from_jwk(jwk), key)
    assert multikey_to_jwk(multikey) == jwk
    assert jwk_to_multikey(jwk) == multikey
    assert jwk["crv"] == crv_of(key)
    codec = multicodec.unwrap(multibase_base58btc_decode(multikey))[0].name
    assert public_key_bytes(public_key_from_bytes(codec, public_key_bytes(key))) == (
        public_key_bytes(key)
    )
    assert same_public_key(private_key_from_jwk(jwk_from_private_key(private)).public_key(), key)
    assert same_public_key(private_from_multikey(private_to_multikey(private)).public_key(), key)


@pytest.mark.parametrize("alg", ["EdDSA", "Ed25519", "ES256", "ES384", "ES512", "ES256K"])
def test_generate_and_default_alg(alg: str) -> None:
    key = generate_private_key(alg)
    assert default_alg(key) == ("EdDSA" if alg == "Ed25519" else alg)


def test_supported_algs_are_every_curve() -> None:
    assert SUPPORTED_ALGS == ("EdDSA", "ES256", "ES384", "ES512", "ES256K")
    for alg in SUPPORTED_ALGS:
        assert default_alg(generate_private_key(alg)) == alg


def test_p521_keys_round_trip_through_jwk_and_multikey() -> None:
    # RFC 7518 §6.2.1.2: 66-byte coordinates; multicodec p521-pub (0x1202), a
    # SEC1-compressed point of 67 bytes; did:key values start with z2J9.
    key = generate_private_key("ES512").public_key()
    jwk = jwk_from_public_key(key)
    assert jwk["crv"] == "P-521" and len(b64url_decode(jwk["x"])) == 66
    assert to_multikey(key).startswith("z2J9")
    assert len(public_key_bytes(key)) == 67
    assert same_public_key(public_key_from_jwk(jwk), key)


def test_unknown_alg_is_unsupported() -> None:
    with pytest.raises(UnsupportedKeyType):
        generate_private_key("RS256")


# --- refusals -------------------------------------------------------------------


def _p256_jwk() -> dict[str, str]:
    return jwk_from_public_key(generate_private_key("ES256").public_key())


def _bad_jwks() -> dict[str, tuple[dict[str, Any], type[GovidError]]]:
    good = _p256_jwk()
    off_curve = dict(
        good, y=b64url_encode((int.from_bytes(b"\x01" * 32, "big")).to_bytes(32, "big"))
    )
    ed = {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(b"\x01" * 32)}
    return {
        "off-curve-point": (off_curve, InvalidKey),
        "short-x": (dict(good, x=b64url_encode(b"\x01" * 31)), InvalidKey),
        "long-ed25519": (dict(ed, x=b64url_encode(b"\x01" * 33)), InvalidKey),
        "padded-x": (dict(ed, x=ed["x"] + "="), InvalidKey),
        "missing-y": ({k: v for k, v in good.items() if k != "y"}, InvalidKey),
        "x-not-string": (dict(good, x=5), InvalidKey),
        "no-kty": ({"crv": "P-256", "x": good["x"], "y": good["y"]}, InvalidKey),
        "unknown-kty": (dict(good, kty="XYZ"), InvalidKey),
        "rsa": ({"kty": "RSA", "n": "AQAB", "e": "AQAB"}, UnsupportedKeyType),
        "oct": ({"kty": "oct", "k": "AAAA"}, UnsupportedKeyType),
        "p521-with-p256-sizes": (dict(good, crv="P-521"), InvalidKey),
        "p192": (dict(good, crv="P-192"), UnsupportedKeyType),
        "ec-with-okp-curve": (dict(good, crv="Ed25519"), UnsupportedKeyType),
    }


@pytest.mark.parametrize("name", list(_bad_jwks()))
def test_bad_jwks_are_refused(name: str) -> None:
    jwk, error = _bad_jwks()[name]
    with pytest.raises(error):
        public_key_from_jwk(jwk)


def test_private_jwk_with_wrong_public_part_is_refused() -> None:
    private = jwk_from_private_key(generate_private_key("ES256"))
    other = _p256_jwk()
    with pytest.raises(InvalidKey):
        private_key_from_jwk(dict(private, x=other["x"], y=other["y"]))


def _wrap(codec: str, raw: bytes) -> str:
    return multibase_base58btc_encode(multicodec.wrap(codec, raw))


def test_bad_multikeys_are_refused() -> None:
    key = generate_private_key("ES256").public_key()
    compressed = public_key_bytes(key)
    cases: dict[str, tuple[str, type[GovidError]]] = {
        "uncompressed-point": (
            _wrap("p256-pub", b"\x04" + compressed[1:] + compressed[1:]),
            InvalidKey,
        ),
        "wrong-length": (_wrap("p256-pub", compressed[:-1]), InvalidKey),
        "bad-prefix-byte": (_wrap("p256-pub", b"\x05" + compressed[1:]), InvalidKey),
        "ed25519-too-short": (_wrap("ed25519-pub", b"\x00" * 31), InvalidKey),
        "unknown-codec": (
            multibase_base58btc_encode(b"\xff\xff\xff\x0f" + compressed),
            InvalidMultibase,
        ),
        "not-base58btc": (
            "u" + b64url_encode(multicodec.wrap("p256-pub", compressed)),
            InvalidMultibase,
        ),
        "bad-base58-char": ("z0OIl", InvalidMultibase),
        "too-long": ("z" + "2" * 2000, InvalidMultibase),
        "private-codec": (_wrap("p256-priv", b"\x01" * 32), UnsupportedKeyType),
    }
    for name, (text, error) in cases.items():
        with pytest.raises(error):
            from_multikey(text)
        assert name


def test_off_curve_compressed_point_is_refused() -> None:
    # x = 5 gives no point on P-256 (5^3 - 3*5 + b is a non-residue); find one that fails.
    for x in range(1, 50):
        raw = b"\x02" + x.to_bytes(32, "big")
        try:
            public_key_from_bytes("p256-pub", raw)
        except InvalidKey:
            return
    pytest.fail("no off-curve x found")  # pragma: no cover


def test_non_canonical_base58_is_refused() -> None:
    raw = multicodec.wrap("ed25519-pub", b"\x07" * 32)
    canonical = base58.b58encode(raw).decode()
    # A leading '1' encodes an extra zero byte, so it is a different value; the
    # non-canonical case is text that decodes but does not re-encode the same.
    assert multibase_base58btc_decode("z" + canonical) == raw
    with pytest.raises(InvalidMultibase):
        multibase_base58btc_decode("z" + canonical + " ")
    with pytest.raises(InvalidMultibase):
        multibase_base58btc_decode("z\u0661")
