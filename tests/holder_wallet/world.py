"""A real ledger and two small spec-conformant protocol doubles for the wallet's tests.

- a registry and a witness on loopback (real checkpoints, real cosignatures);
- DIDs on that ledger: `civil` (accredited issuer of the civil identity type,
  with a status list where index 7 is revoked and 9 suspended), `rogue` (a DID
  nobody accredited), `counter` (accredited verifier for the civil type),
  `limited` (accredited verifier for `age_over_18` only), `nosy` (no
  accreditation);
- `IssuerDouble`: an OpenID4VCI 1.0 Credential Issuer + Authorization Server
  (pre-authorized code with tx_code, nonce endpoint, batch `proofs.jwt`),
  written from the spec, not from `issuer/`; each offer can misbehave;
- `VerifierDouble`: an OpenID4VP 1.0 verifier (signed request object by
  reference, DID client identifier, `direct_post`), which checks what it
  receives with the reference `sd-jwt` package, not with govid's code.
"""

from __future__ import annotations

import contextlib
import json
import math
import secrets
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import httpx
from fastapi import FastAPI, Form, Request
from fastapi.responses import JSONResponse, Response
from jwcrypto.jwk import JWK
from sd_jwt.verifier import SDJWTVerifier

from did.jose import parse_unverified_jws, sign_jwt, verify_jwt
from did.keys import jwk_from_public_key, public_key_from_jwk, public_key_of
from did.sd_jwt import issue_sd_jwt_vc
from did.status_list import StatusList
from did.status_list_token import build_status_list_token
from registry import authoring
from registry.api.app import create_app
from registry.bootstrap import init_registry
from registry.config import RegistryConfig
from registry.witness.app import create_witness_app
from registry.witness.config import WitnessConfig, init_witness
from tests.servers import serve

CIVIL_VCT = "https://govid.example/vct/civil-identity"
OTHER_VCT = "https://govid.example/vct/vaccination-record"
CIVIL_CLAIMS: dict[str, Any] = {
    "personal_id": "P-123456",
    "given_name": "Erika",
    "family_name": "Mustermann",
    "birthdate": "1990-02-01",
    "age_over_18": True,
    "address": {"locality": "Berlin", "postal_code": "10115"},
}
CIVIL_DISCLOSABLE = [[k] for k in CIVIL_CLAIMS] + [
    ["address", "locality"],
    ["address", "postal_code"],
]
REVOKED_IDX, SUSPENDED_IDX = 7, 9
TX_CODE = "493536"
PRE_AUTH = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
CARD_DISPLAY: dict[str, Any] = {"name": "Civil identity", "background_color": "#12355b"}


# --- the ledger -------------------------------------------------------------------------


@dataclass
class Ledger:
    url: str
    origin: str
    log_vkey: str
    witness_vkey: str
    root: authoring.Keyring
    dids: dict[str, authoring.Keyring] = field(default_factory=dict)
    status_uri: str = "https://civil.example/status/1"

    def submit(self, op: str) -> int:
        response = httpx.post(self.url + "/operations", json={"operation": op}, timeout=30)
        assert response.status_code == 201, response.text
        index: int = response.json()["index"]
        return index

    def wait_cosigned(self, index: int) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            rows = httpx.get(self.url + "/log/checkpoints", timeout=10).json()["checkpoints"]
            if any(r["size"] > index and r["cosignatures"] > 0 for r in rows):
                return
            time.sleep(0.05)
        raise AssertionError(f"no cosigned checkpoint covers entry {index}")


def _build_ledger(ledger: Ledger) -> None:
    now = int(time.time())
    for name in ("civil", "rogue", "counter", "limited", "nosy"):
        keyring, op = authoring.create_did(ledger=ledger.origin)
        ledger.submit(op)
        ledger.dids[name] = keyring
    grants: list[tuple[str, str, Sequence[str]]] = [
        ("civil", "issuer", ()),
        ("counter", "verifier", ()),
        ("limited", "verifier", ("age_over_18",)),
    ]
    for name, role, claims in grants:
        ledger.root, op = authoring.grant(
            ledger.root,
            subject=ledger.dids[name].did,
            role=role,
            credential_types=[CIVIL_VCT],
            valid_from=now - 3600,
            valid_until=now + 365 * 86400,
            claims=claims,
        )
        ledger.submit(op)
    civil = ledger.dids["civil"]
    status_list = StatusList.new(1024, 2).with_changes({REVOKED_IDX: 1, SUSPENDED_IDX: 2})
    token = build_status_list_token(
        status_list,
        key=civil.signing_key(),
        uri=ledger.status_uri,
        iat=math.ceil(time.time()),
        ttl=300,
        kid=civil.signing_kid,
        iss=civil.did,
    )
    _, op = authoring.publish_status_list(
        civil, uri=ledger.status_uri, sequence=1, token=token, credential_types=[CIVIL_VCT]
    )
    ledger.wait_cosigned(ledger.submit(op))


# --- the OpenID4VCI issuer double ----------------------------------------------------------


@dataclass
class Offer:
    """One offer, and how the issuer misbehaves when redeeming it (all off by default)."""

    code: str
    tx_code: str = TX_CODE
    signer: str = "civil"  # the DID whose key signs
    vct: str = CIVIL_VCT
    foreign_cnf: bool = False  # bind to a key the wallet did not prove
    status_indices: Sequence[int] = ()
    redeemed: bool = False
    token: str | None = None
    requests: int = 0  # credential requests received


class IssuerDouble:
    """A Credential Issuer (`{base}/civil`) and its Authorization Server (`{base}`)."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.base = ""
        self.offers: dict[str, Offer] = {}
        self.nonces: set[str] = set()
        self.next_idx = 100
        self.lock = threading.Lock()
        # The card's display metadata (§12.2.4); a test may serve a hostile one.
        self.card_display: dict[str, Any] = dict(CARD_DISPLAY)
        self.app = self._app()

    @property
    def issuer_id(self) -> str:
        return self.base + "/civil"

    def offer(self, **behaviour: Any) -> tuple[str, Offer]:
        offer = Offer(code=secrets.token_urlsafe(16), **behaviour)
        offer_id = secrets.token_urlsafe(8)
        self.offers[offer_id] = offer
        uri = f"{self.base}/offers/{offer_id}"
        return f"openid-credential-offer://?credential_offer_uri={quote(uri, safe='')}", offer

    def _metadata(self) -> dict[str, Any]:
        did = self.ledger.dids["civil"].did
        return {
            "credential_issuer": self.issuer_id,
            "authorization_servers": [self.base],
            "credential_endpoint": self.issuer_id + "/credential",
            "nonce_endpoint": self.issuer_id + "/nonce",
            "batch_credential_issuance": {"batch_size": 5},
            "display": [{"name": "Civil Affairs Office", "locale": "en-US"}],
            "issuer_did": did,
            "credential_configurations_supported": {
                "civil_identity": {
                    "format": "dc+sd-jwt",
                    "vct": CIVIL_VCT,
                    "cryptographic_binding_methods_supported": ["jwk"],
                    "proof_types_supported": {
                        "jwt": {"proof_signing_alg_values_supported": ["ES256", "EdDSA"]}
                    },
                    "credential_metadata": {
                        "display": [self.card_display],
                        "claims": [
                            {"path": ["given_name"], "display": [{"name": "Given name"}]},
                            {"path": ["family_name"], "display": [{"name": "Family name"}]},
                            {"path": ["age_over_18"], "display": [{"name": "Over 18"}]},
                        ],
                    },
                }
            },
        }

    def _app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/.well-known/openid-credential-issuer/civil")
        def metadata() -> dict[str, Any]:  # §12.2.2: path inserted after the host
            return self._metadata()

        @app.get("/.well-known/oauth-authorization-server")
        def as_metadata() -> dict[str, Any]:
            return {
                "issuer": self.base,
                "token_endpoint": self.base + "/token",
                "grant_types_supported": [PRE_AUTH],
                "pre-authorized_grant_anonymous_access_supported": True,
            }

        @app.get("/offers/{offer_id}")
        def offer(offer_id: str) -> dict[str, Any]:
            o = self.offers[offer_id]
            return {
                "credential_issuer": self.issuer_id,
                "credential_configuration_ids": ["civil_identity"],
                "grants": {
                    PRE_AUTH: {
                        "pre-authorized_code": o.code,
                        "tx_code": {"input_mode": "numeric", "length": 6},
                    }
                },
            }

        @app.post("/token")
        async def token(request: Request) -> JSONResponse:
            form = await request.form()
            match = [o for o in self.offers.values() if o.code == form.get("pre-authorized_code")]
            if form.get("grant_type") != PRE_AUTH or not match or match[0].redeemed:
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            if form.get("tx_code") != match[0].tx_code:
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            match[0].redeemed, match[0].token = True, secrets.token_urlsafe(16)
            return JSONResponse(
                {"access_token": match[0].token, "token_type": "Bearer", "expires_in": 300},
                headers={"Cache-Control": "no-store"},
            )

        @app.post("/civil/nonce")
        def nonce() -> JSONResponse:
            value = secrets.token_urlsafe(16)
            self.nonces.add(value)
            return JSONResponse({"c_nonce": value}, headers={"Cache-Control": "no-store"})

        @app.post("/civil/credential")
        async def credential(request: Request) -> JSONResponse:
            auth = request.headers.get("authorization", "")
            match = [o for o in self.offers.values() if o.token and auth == f"Bearer {o.token}"]
            if not match:
                return JSONResponse({"error": "invalid_token"}, status_code=401)
            o = match[0]
            o.requests += 1
            body = await request.json()
            if body.get("credential_configuration_id") != "civil_identity":
                return JSONResponse({"error": "invalid_credential_request"}, status_code=400)
            keys = []
            used: set[str] = set()
            for proof in body["proofs"]["jwt"]:  # Appendix F.4
                jws = parse_unverified_jws(proof)
                key = public_key_from_jwk(jws.header["jwk"])
                claims = verify_jwt(
                    jws, key, typ="openid4vci-proof+jwt", allow_header_keys=("jwk",)
                )
                if claims.get("aud") != self.issuer_id or "iss" in claims:
                    return JSONResponse({"error": "invalid_proof"}, status_code=400)
                if claims.get("nonce") not in self.nonces:
                    return JSONResponse({"error": "invalid_nonce"}, status_code=400)
                used.add(claims["nonce"])
                keys.append(key)
            self.nonces -= used
            return JSONResponse(
                {"credentials": [{"credential": self._issue(o, k, i)} for i, k in enumerate(keys)]}
            )

        return app

    def _issue(self, offer: Offer, holder: Any, position: int) -> str:
        signer = self.ledger.dids[offer.signer]
        if offer.foreign_cnf:
            from did.keys import generate_private_key

            holder = public_key_of(generate_private_key("ES256"))
        with self.lock:
            if position < len(offer.status_indices):
                idx = offer.status_indices[position]
            else:
                idx, self.next_idx = self.next_idx, self.next_idx + 1
        now = datetime.now(UTC)
        return issue_sd_jwt_vc(
            CIVIL_CLAIMS,
            issuer_key=signer.signing_key(),
            iss=signer.did,
            vct=offer.vct,
            iat=now,
            exp=now + timedelta(days=365),
            disclosable=CIVIL_DISCLOSABLE,
            holder_key=holder,
            status={"status_list": {"idx": idx, "uri": self.ledger.status_uri}},
            kid=signer.signing_kid,
        ).serialize()


# --- the OpenID4VP verifier double ---------------------------------------------------------


@dataclass
class VPSession:
    dcql: dict[str, Any]
    signer: str = "counter"  # whose DID's key signs the request object
    client: str = "counter"  # whose DID the client_id names
    unsigned: bool = False
    nonce: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    state: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    sid: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)  # every POST to response_uri
    verified: dict[str, list[dict[str, Any]]] | None = None  # payloads the reference verified


class VerifierDouble:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.base = ""
        self.sessions: dict[str, VPSession] = {}
        self.app = self._app()

    def client_id(self, name: str) -> str:
        return "decentralized_identifier:" + self.ledger.dids[name].did

    def request(
        self, dcql: Mapping[str, Any] | None = None, **behaviour: Any
    ) -> tuple[str, VPSession]:
        session = VPSession(dict(dcql or civil_query()), **behaviour)
        sid = secrets.token_urlsafe(8)
        session.sid = sid
        self.sessions[sid] = session
        params = {
            "client_id": self.client_id(session.client),
            "request_uri": f"{self.base}/request/{sid}",
        }
        return "openid4vp://?" + urlencode(params), session

    def _request_object(self, session: VPSession) -> str:
        signer = self.ledger.dids[session.signer]
        now = int(time.time())
        claims = {
            "iss": self.client_id(session.client),
            "aud": "https://self-issued.me/v2",
            "client_id": self.client_id(session.client),
            "response_type": "vp_token",
            "response_mode": "direct_post",
            "response_uri": self.base + "/response",
            "nonce": session.nonce,
            "state": session.state,
            "dcql_query": session.dcql,
            "client_metadata": {"client_name": "Town Hall Counter 3"},
            "iat": now,
            "exp": now + 300,
        }
        if session.unsigned:
            from did.encoding import b64url_encode

            header = b64url_encode(
                json.dumps({"alg": "none", "typ": "oauth-authz-req+jwt"}).encode()
            )
            return f"{header}.{b64url_encode(json.dumps(claims).encode())}."
        return sign_jwt(
            claims, signer.signing_key(), typ="oauth-authz-req+jwt", kid=signer.signing_kid
        )

    def _app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/request/{sid}")
        def request_object(sid: str) -> Response:
            return Response(
                self._request_object(self.sessions[sid]),
                media_type="application/oauth-authz-req+jwt",
            )

        @app.get("/counter/{sid}")
        def counter(sid: str) -> Response:
            """The counter's screen: the request as a QR code (what the citizen scans)."""
            import base64
            import io

            import qrcode

            session = self.sessions[sid]
            params = {
                "client_id": self.client_id(session.client),
                "request_uri": f"{self.base}/request/{sid}",
            }
            image = qrcode.make("openid4vp://?" + urlencode(params))
            out = io.BytesIO()
            image.save(out)
            png = base64.b64encode(out.getvalue()).decode()
            html = (
                '<html><body style="background:#fff"><h1>Counter 3</h1>'
                f'<img id="qr" src="data:image/png;base64,{png}"></body></html>'
            )
            return Response(html, media_type="text/html")

        @app.post("/response")
        def response(
            state: str = Form(...),
            vp_token: str | None = Form(None),
            error: str | None = Form(None),
        ) -> JSONResponse:
            session = next(s for s in self.sessions.values() if s.state == state)
            session.received.append({"vp_token": vp_token, "error": error})
            if vp_token is None:
                return JSONResponse({})
            session.verified = self._verify(session, json.loads(vp_token))
            return JSONResponse({"status": "accepted"})

        return app

    def _verify(
        self, session: VPSession, token: dict[str, list[str]]
    ) -> dict[str, list[dict[str, Any]]]:
        civil = self.ledger.dids["civil"]
        issuer_jwk = JWK(**jwk_from_public_key(public_key_of(civil.signing_key())))
        out: dict[str, list[dict[str, Any]]] = {}
        for qid, presentations in token.items():
            out[qid] = [
                SDJWTVerifier(
                    p,
                    lambda iss, header: issuer_jwk,
                    expected_aud=self.client_id(session.client),
                    expected_nonce=session.nonce,
                ).get_verified_payload()
                for p in presentations
            ]
        return out


def civil_query(
    claims: Sequence[Sequence[str]] = (["given_name"], ["family_name"], ["age_over_18"]),
    vct: str = CIVIL_VCT,
) -> dict[str, Any]:
    return {
        "credentials": [
            {
                "id": "civil",
                "format": "dc+sd-jwt",
                "meta": {"vct_values": [vct]},
                "claims": [{"path": list(c)} for c in claims],
            }
        ]
    }


@dataclass
class World:
    ledger: Ledger
    issuer: IssuerDouble
    verifier: VerifierDouble


@contextlib.contextmanager
def running_world(tmp: Path) -> Iterator[World]:
    wdata, rdata = tmp / "witness", tmp / "registry"
    info = init_registry(rdata)
    wvkey = init_witness(
        wdata, name="witness.example", logs=[{"origin": info["origin"], "vkey": info["vkey"]}]
    )
    with serve(create_witness_app(WitnessConfig(data_dir=wdata))) as witness_url:
        reg = json.loads((rdata / "registry.json").read_text())
        reg["witnesses"] = [{"name": "witness.example", "url": witness_url, "vkey": wvkey}]
        reg["quorum"] = 1
        (rdata / "registry.json").write_text(json.dumps(reg))
        config = RegistryConfig(data_dir=rdata, checkpoint_interval=0.05)
        with serve(create_app(config)) as url:
            root = authoring.Keyring.from_json(json.loads((rdata / "root-keys.json").read_text()))
            ledger = Ledger(url, info["origin"], info["vkey"], wvkey, root)
            _build_ledger(ledger)
            issuer, verifier = IssuerDouble(ledger), VerifierDouble(ledger)
            with serve(issuer.app) as issuer_url, serve(verifier.app) as verifier_url:
                issuer.base, verifier.base = issuer_url, verifier_url
                yield World(ledger, issuer, verifier)
