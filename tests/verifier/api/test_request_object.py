"""OpenID4VP request objects as wallet libraries expect them (§5, §5.9.3, RFC 9101).

Fetched over real HTTP from a running verifier; the signature is checked with
jwcrypto (not govid's JOSE code) against the key the `kid` names in the
verifier's DID document as the ledger proves it.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs, quote, urlsplit

import httpx
from jwcrypto import jwk as jwcrypto_jwk
from jwcrypto import jws as jwcrypto_jws

from did.identifiers import DIDURL
from did.keys import jwk_from_public_key
from registry.client import RegistryClient
from tests.verifier.api.test_presentations import Verifier, verifier  # noqa: F401 - fixture
from tests.verifier.world import World


def test_request_object_has_no_iss_and_a_kid_in_the_verifier_document(
    world: World,
    verifier: Verifier,  # noqa: F811 - the fixture imported above
) -> None:
    created = verifier.http.post("/api/presentation-requests", json={"template": "civil_identity"})
    assert created.status_code == 201, created.text
    params = {
        k: v[0]
        for k, v in parse_qs(urlsplit(created.json()["authorization_request"]).query).items()
    }
    jwt = httpx.get(params["request_uri"], timeout=30).text
    token = jwcrypto_jws.JWS()
    token.deserialize(jwt)
    header = token.jose_header
    did = params["client_id"].removeprefix("decentralized_identifier:")

    # `kid` is an absolute DID URL naming a key of the client's own DID.
    kid = DIDURL.parse(header["kid"])
    assert str(kid.did) == did and kid.fragment and kid.is_bare_did is False
    with RegistryClient(world.url, trust=world.ledger_trust()) as registry:
        document = registry.resolve(did).did_document
    assert document is not None
    method = document.find_verification_method(kid)
    assert str(method.controller) == did
    # The registry dereferences the `kid` itself to that key (DID Core §7.2).
    served = httpx.get(
        f"{world.url}/1.0/identifiers/{quote(header['kid'], safe=':')}",
        headers={"Accept": "application/did+json"},
        timeout=30,
    )
    assert served.status_code == 200 and served.json() == method.to_json()

    # An independent JOSE library verifies it with that key, and only with it.
    token.allowed_algs = [header["alg"]]
    token.verify(jwcrypto_jwk.JWK(**jwk_from_public_key(method.public_key())))
    claims = json.loads(token.payload)
    assert "iss" not in claims  # neither the prefixed client id nor the bare DID
    assert claims["client_id"] == params["client_id"]
    assert claims["aud"] == "https://self-issued.me/v2"
    assert claims["response_type"] == "vp_token" and claims["response_mode"] == "direct_post"
