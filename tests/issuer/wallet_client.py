"""An independent OpenID4VCI client for tests: httpx, jwcrypto proofs, no issuer code.

It follows the offer by reference, discovers the metadata the way a wallet
must (OpenID4VCI §12.2.2, RFC 8414), redeems the pre-authorized code with the
transaction code, fetches a `c_nonce`, and asks for one credential per key.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from jwcrypto.jwk import JWK
from jwcrypto.jwt import JWT

PRE_AUTH = "urn:ietf:params:oauth:grant-type:pre-authorized_code"


def well_known(identifier: str, name: str) -> str:
    parts = urlsplit(identifier)
    path = parts.path.rstrip("/")
    return f"{parts.scheme}://{parts.netloc}/.well-known/{name}{path}"


def proof_jwt(
    key: JWK,
    *,
    aud: str,
    nonce: str | None,
    iat: int | None = None,
    typ: str = "openid4vci-proof+jwt",
    alg: str = "ES256",
) -> str:
    claims: dict[str, Any] = {"aud": aud, "iat": int(time.time()) if iat is None else iat}
    if nonce is not None:
        claims["nonce"] = nonce
    header = {"alg": alg, "typ": typ, "jwk": json.loads(key.export_public())}
    token = JWT(header=header, claims=claims)
    token.make_signed_token(key)
    return str(token.serialize())


@dataclass
class Exchange:
    offer: dict[str, Any]
    metadata: dict[str, Any]
    as_metadata: dict[str, Any]
    http: httpx.Client

    @classmethod
    def start(cls, offer_uri: str, http: httpx.Client) -> Exchange:
        query = parse_qs(urlsplit(offer_uri).query)
        assert urlsplit(offer_uri).scheme == "openid-credential-offer"
        offer = http.get(query["credential_offer_uri"][0]).raise_for_status().json()
        issuer = offer["credential_issuer"]
        metadata = http.get(well_known(issuer, "openid-credential-issuer")).raise_for_status()
        md = metadata.json()
        assert md["credential_issuer"] == issuer
        as_url = well_known(md["authorization_servers"][0], "oauth-authorization-server")
        return cls(offer, md, http.get(as_url).raise_for_status().json(), http)

    @property
    def issuer(self) -> str:
        return str(self.offer["credential_issuer"])

    def token(self, tx_code: str | None) -> httpx.Response:
        grant = self.offer["grants"][PRE_AUTH]
        form = {"grant_type": PRE_AUTH, "pre-authorized_code": grant["pre-authorized_code"]}
        if tx_code is not None:
            form["tx_code"] = tx_code
        return self.http.post(self.as_metadata["token_endpoint"], data=form)

    def nonce(self) -> str:
        response = self.http.post(self.metadata["nonce_endpoint"])
        assert response.status_code == 200
        assert "no-store" in response.headers["cache-control"]
        return str(response.json()["c_nonce"])

    def credential(self, access_token: str, proofs: list[str]) -> httpx.Response:
        body = {
            "credential_configuration_id": self.offer["credential_configuration_ids"][0],
            "proofs": {"jwt": proofs},
        }
        return self.http.post(
            self.metadata["credential_endpoint"],
            json=body,
            headers={"Authorization": f"Bearer {access_token}"},
        )


def new_holder_key() -> JWK:
    return JWK.generate(kty="EC", crv="P-256")
