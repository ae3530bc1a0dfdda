"""Receiving credentials: an OpenID4VCI 1.0 client for the pre-authorized code flow.

Section numbers are OpenID4VCI 1.0's. The flow, in the order `preview` and
`redeem` run it:

  1. parse `openid-credential-offer://?credential_offer_uri=...` (§4.1.3) and
     fetch the offer as JSON (§4.1.3), or take it by value (§4.1.2);
  2. fetch the Credential Issuer Metadata from the well-known path inserted
     before the issuer identifier's path (§12.2.2); `credential_issuer` must be
     identical to the identifier (§12.2.4);
  3. fetch the Authorization Server Metadata (RFC 8414 §3, path inserted the
     same way); its `issuer` must be identical to the server asked;
  4. token request with `pre-authorized_code` and `tx_code` (§6.1);
  5. a fresh `c_nonce` from the Nonce Endpoint (§7);
  6. one new holder key per copy, one `jwt` key proof per key (Appendix F.1),
     all in one Credential Request (§8.2, batch issuance);
  7. verify every credential BEFORE anything is stored (`verify_received`):
     signature by a current key of the issuer DID resolved on the ledger;
     SD-JWT VC rules; `vct` is the one offered; the DID is the one the
     metadata names; the DID is accredited as `issuer` for the `vct` on the
     ledger; `cnf.jwk` is one of the keys this wallet just made.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final
from urllib.parse import urlsplit

from did.errors import GovidError, MalformedInput, VerificationFailed
from did.jose import sign_jwt
from did.keys import PrivateKey, jwk_from_private_key, jwk_from_public_key
from did.sd_jwt import UnverifiedSDJWT, disclosure_map, holder_key_from_cnf, verify_sd_jwt_vc
from did.sd_jwt.vc import VerifiedSDJWTVC
from holder_wallet._http import json_object, remote_error
from holder_wallet.card_style import DEFAULT_BACKGROUND, DEFAULT_TEXT, css_color
from holder_wallet.errors import (
    CredentialRejected,
    HolderBindingMismatch,
    IssuerMetadataMismatch,
    IssuerNotAccredited,
    OfferInvalid,
    ProtocolUnsupported,
)
from holder_wallet.keys import new_holder_key, public_jwk_of, thumbprint_of
from holder_wallet.ledger import Ledger
from openid4vc.issuance import (
    AUTHORIZATION_DETAILS_TYPE,
    ISSUER_METADATA_SUFFIX,
    PRE_AUTHORIZED_GRANT,
    PROOF_TYP,
    SD_JWT_VC_FORMAT,
    CredentialOffer,
    parse_offer_uri,
    well_known_url,
)
from service.fetch import Fetcher, check_url

__all__ = [
    "IssuanceClient",
    "OfferPreview",
    "ReceivedCredential",
    "verify_received",
]

# SD-JWT VC registered claims: shown on the card as facts, not as the subject's claims.
REGISTERED: Final = frozenset(
    {"iss", "vct", "iat", "exp", "nbf", "cnf", "status", "vct#integrity", "_sd_alg", "sub"}
)


@dataclass(frozen=True, slots=True)
class OfferPreview:
    """What the citizen is shown before entering the transaction code."""

    offer: CredentialOffer
    issuer_metadata: Mapping[str, Any]
    token_endpoint: str
    issuer_name: str
    credential_names: tuple[str, ...]

    @property
    def tx_code_description(self) -> str | None:
        if self.offer.tx_code is None:
            return None
        text = self.offer.tx_code.get("description")
        return text if isinstance(text, str) else "Enter the code the agency sent you."


@dataclass(frozen=True, slots=True)
class ReceivedCredential:
    """Verified copies of one credential and what the wallet will store about it."""

    configuration_id: str
    record: dict[str, Any]
    copies: tuple[dict[str, Any], ...]  # {"sd_jwt", "holder_jwk" (private), "status"}


@dataclass(slots=True)
class _Keys:
    """The holder keys made for one request, by thumbprint; each may bind one credential."""

    by_thumbprint: dict[str, PrivateKey] = field(default_factory=dict)

    def take(self, thumbprint: str) -> PrivateKey:
        key = self.by_thumbprint.pop(thumbprint, None)
        if key is None:
            raise HolderBindingMismatch("the credential is not bound to a key this wallet made")
        return key


def _accredited(ledger: Ledger, did: str, *, role: str, vct: str, at: float) -> bool:
    return any(
        # Never revoked and covering `at` (method spec §6.4 step 4): `at` is the
        # credential's `iat`, which its issuer chooses.
        a.role == role and vct in a.credential_types and a.trusted_at(at)
        for a in ledger.accreditations(did)
    )


def verify_received(
    sd_jwt: str,
    *,
    expected_vct: str,
    expected_issuer_did: str | None,
    ledger: Ledger,
    now: datetime,
) -> VerifiedSDJWTVC:
    """Check a freshly issued SD-JWT VC before it is stored; raise a `wallet.*` code.

    Steps:
      1. the issuer-signed JWT names a `did:govid` issuer and a `kid` of it;
      2. signature by that key, found in the DID's current `assertionMethod`
         as proven on the ledger; SD-JWT VC rules, disclosures, `exp`;
      3. `vct` is the type that was offered;
      4. `iss` is the DID the issuer's metadata names (when it names one);
      5. the DID is accredited as `issuer` for the `vct` on the ledger.
    The caller checks the holder binding (`cnf`) against its own keys.
    """
    try:
        unverified = UnverifiedSDJWT.parse(sd_jwt)
    except MalformedInput as exc:
        raise CredentialRejected(
            f"the issuer sent something that is not an SD-JWT ({exc.code})"
        ) from exc
    iss = unverified.unverified_payload.get("iss")  # (1)
    if not isinstance(iss, str) or not iss.startswith("did:govid:"):
        raise CredentialRejected("the credential's issuer is not a DID on the ledger")

    def issuer_key(_iss: str | None, header: Mapping[str, Any]) -> Any:
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise CredentialRejected("the credential names no signing key")
        return ledger.verification_key(kid, did=iss, relationships=("assertionMethod",))

    try:  # (2)
        verified = verify_sd_jwt_vc(unverified, issuer_key=issuer_key, now=now)
    except (MalformedInput, VerificationFailed) as exc:
        if isinstance(exc, CredentialRejected):
            raise
        raise CredentialRejected(f"the credential does not verify ({exc.code})") from exc
    if verified.vct != expected_vct:  # (3)
        raise IssuerMetadataMismatch("the issuer sent another type of credential than offered")
    if expected_issuer_did is not None and verified.iss != expected_issuer_did:  # (4)
        raise IssuerMetadataMismatch("the credential's issuer is not the DID the issuer claims")
    iat = verified.claims.get("iat")
    at = float(iat) if isinstance(iat, int | float) and not isinstance(iat, bool) else None
    if not _accredited(
        ledger, verified.iss, role="issuer", vct=verified.vct, at=at or now.timestamp()
    ):  # (5)
        raise IssuerNotAccredited("the issuer is not accredited on the ledger for this credential")
    return verified


def _display(
    issuer_metadata: Mapping[str, Any], configuration: Mapping[str, Any]
) -> dict[str, Any]:
    """Card data from the metadata (§12.2.4 `credential_metadata`, issuer `display`)."""

    def first(items: object) -> dict[str, Any]:
        if isinstance(items, list):
            for item in items:
                if isinstance(item, dict):
                    return item
        return {}

    meta = configuration.get("credential_metadata")
    meta = meta if isinstance(meta, dict) else {}
    card = first(meta.get("display"))
    labels: list[dict[str, Any]] = []
    for claim in meta.get("claims", []) if isinstance(meta.get("claims"), list) else []:
        if isinstance(claim, dict) and isinstance(claim.get("path"), list):
            label = first(claim.get("display")).get("name")
            labels.append(
                {"path": claim["path"], "label": label if isinstance(label, str) else None}
            )

    def text(value: object, default: str | None = None) -> str | None:
        return value[:200] if isinstance(value, str) else default

    return {
        "name": text(card.get("name"), "Credential"),
        "description": text(card.get("description")),
        "background_color": css_color(card.get("background_color"), DEFAULT_BACKGROUND),
        "text_color": css_color(card.get("text_color"), DEFAULT_TEXT),
        "issuer_name": text(first(issuer_metadata.get("display")).get("name")),
        "claims": labels,
    }


class IssuanceClient:
    """The OpenID4VCI client. HTTP, time and the ledger are passed in.

    Every URL here comes from an offer or from metadata an issuer chose, so
    `fetch` must follow `FetchPolicy.untrusted`: https to public addresses
    only (loopback http on the development stack alone).
    """

    def __init__(
        self,
        fetch: Fetcher,
        *,
        ledger: Ledger,
        clock: Callable[[], datetime],
        batch_size: int = 3,
        key_alg: str = "ES256",
    ) -> None:
        self._fetch = fetch
        self._ledger = ledger
        self._clock = clock
        self._batch = batch_size
        self._alg = key_alg

    def _url(self, url: object, what: str) -> str:
        """`url` if the fetch policy allows it (`fetch.url_refused` otherwise)."""
        return str(check_url(url, self._fetch.policy))

    def _get_json(self, url: str, who: str) -> dict[str, Any]:
        response = self._fetch.get(url, headers={"Accept": "application/json"})
        return json_object(response, who=who, error=OfferInvalid)

    # --- steps 1-3 ----------------------------------------------------------------------

    def preview(self, offer_uri: str) -> OfferPreview:
        by_ref, by_value = parse_offer_uri(offer_uri)  # (1)
        if by_ref is not None:
            by_value = self._get_json(self._url(by_ref, "credential offer URI"), "issuer")
        offer = CredentialOffer.parse(by_value)
        if offer.pre_authorized_code is None:
            raise ProtocolUnsupported("only offers with a pre-authorized code are supported")
        issuer = self._url(offer.credential_issuer, "credential issuer")
        metadata = self._get_json(  # (2)
            well_known_url(issuer, ISSUER_METADATA_SUFFIX), "issuer"
        )
        if metadata.get("credential_issuer") != issuer:  # §12.2.4: simple string comparison
            raise IssuerMetadataMismatch("the issuer's metadata is for another issuer")
        self._url(metadata.get("credential_endpoint"), "credential endpoint")
        configurations = metadata.get("credential_configurations_supported")
        if not isinstance(configurations, dict):
            raise OfferInvalid("the issuer's metadata lists no credential configurations")
        names = []
        for cid in offer.configuration_ids:
            configuration = configurations.get(cid)
            if (
                not isinstance(configuration, dict)
                or configuration.get("format") != SD_JWT_VC_FORMAT
            ):
                raise ProtocolUnsupported("the offer is for a credential this wallet cannot hold")
            if not isinstance(configuration.get("vct"), str):
                raise OfferInvalid("the offered credential configuration has no vct")
            names.append(str(_display(metadata, configuration)["name"]))
        servers = metadata.get("authorization_servers")
        if servers is None:
            server = issuer
        elif isinstance(servers, list) and servers and all(isinstance(s, str) for s in servers):
            # §12.2.4: an offer's authorization_server hint must be one of these.
            if offer.authorization_server is not None:
                if offer.authorization_server not in servers:
                    raise IssuerMetadataMismatch("the offer names an unknown authorization server")
                server = offer.authorization_server
            else:
                server = servers[0]
        else:
            raise OfferInvalid("the issuer's authorization_servers is not a list of URLs")
        server = self._url(server, "authorization server")
        as_meta = self._get_json(  # (3)
            well_known_url(server, "oauth-authorization-server"), "authorization server"
        )
        if as_meta.get("issuer") != server:  # RFC 8414 §3.3
            raise IssuerMetadataMismatch(
                "the authorization server's metadata is for another server"
            )
        token_endpoint = self._url(as_meta.get("token_endpoint"), "token endpoint")
        issuer_name = _display(metadata, {}).get("issuer_name") or urlsplit(issuer).netloc
        return OfferPreview(offer, metadata, token_endpoint, str(issuer_name), tuple(names))

    # --- steps 4-7 ----------------------------------------------------------------------

    def redeem(self, preview: OfferPreview, tx_code: str | None) -> list[ReceivedCredential]:
        """Run the exchange and return verified credentials; nothing is stored here."""
        offer, metadata = preview.offer, preview.issuer_metadata
        form = {
            "grant_type": PRE_AUTHORIZED_GRANT,
            "pre-authorized_code": str(offer.pre_authorized_code),
        }
        if offer.tx_code is not None:
            if not tx_code:
                raise OfferInvalid("this offer needs the transaction code the agency sent you")
            form["tx_code"] = tx_code
        response = self._fetch.post(  # (4)
            preview.token_endpoint, data=form, headers={"Accept": "application/json"}
        )
        token = json_object(response, who="issuer", error=OfferInvalid)
        access_token, token_type = token.get("access_token"), token.get("token_type")
        if not isinstance(access_token, str) or not access_token:
            raise OfferInvalid("the issuer's token answer has no access token")
        if not isinstance(token_type, str) or token_type.lower() != "bearer":
            raise ProtocolUnsupported("only Bearer access tokens are supported")
        identifiers = _credential_identifiers(token.get("authorization_details"))
        batch = metadata.get("batch_credential_issuance")
        size = batch.get("batch_size") if isinstance(batch, dict) else None
        copies = min(self._batch, size) if isinstance(size, int) and size >= 2 else 1
        out = []
        for cid in offer.configuration_ids:
            out.append(self._credential(preview, cid, identifiers.get(cid), access_token, copies))
        return out

    def _nonce(self, metadata: Mapping[str, Any]) -> str | None:
        endpoint = metadata.get("nonce_endpoint")
        if endpoint is None:
            return None
        url = self._url(endpoint, "nonce endpoint")
        answer = json_object(self._fetch.post(url), who="issuer", error=OfferInvalid)  # (5)
        nonce = answer.get("c_nonce")
        if not isinstance(nonce, str) or not nonce:
            raise OfferInvalid("the issuer's nonce answer has no c_nonce")
        return nonce

    def _proofs(self, keys: Sequence[PrivateKey], *, audience: str, nonce: str | None) -> list[str]:
        """Appendix F.1: `typ`, `alg`, the key as `jwk`; `aud`, `iat`, `nonce`. No `iss`:
        the token came from a pre-authorized code with anonymous access (F.1)."""
        now = int(self._clock().timestamp())
        proofs = []
        for key in keys:
            claims: dict[str, Any] = {"aud": audience, "iat": now}
            if nonce is not None:
                claims["nonce"] = nonce
            proofs.append(
                sign_jwt(claims, key, typ=PROOF_TYP, extra_header={"jwk": public_jwk_of(key)})
            )
        return proofs

    def _credential(
        self,
        preview: OfferPreview,
        configuration_id: str,
        identifier: str | None,
        access_token: str,
        copies: int,
    ) -> ReceivedCredential:
        metadata = preview.issuer_metadata
        configuration = metadata["credential_configurations_supported"][configuration_id]
        endpoint = self._url(metadata.get("credential_endpoint"), "credential endpoint")
        keys = [new_holder_key(self._alg) for _ in range(copies)]  # (6)
        body: dict[str, Any] = (
            {"credential_identifier": identifier}
            if identifier is not None
            else {"credential_configuration_id": configuration_id}
        )
        answer: dict[str, Any] | None = None
        for attempt in range(2):
            nonce = self._nonce(metadata)
            body["proofs"] = {
                "jwt": self._proofs(keys, audience=preview.offer.credential_issuer, nonce=nonce)
            }
            response = self._fetch.post(
                endpoint, json=body, headers={"Authorization": f"Bearer {access_token}"}
            )
            if response.status_code == 200:
                answer = json_object(response, who="issuer", error=OfferInvalid)
                break
            refusal = remote_error(response, who="issuer")
            # §8.3.1.2: `invalid_nonce` means fetch a fresh c_nonce and try again, once.
            if refusal.remote_error != "invalid_nonce" or attempt == 1:
                raise refusal
        assert answer is not None
        if "transaction_id" in answer and "credentials" not in answer:
            raise ProtocolUnsupported("deferred issuance is not supported by this wallet")
        credentials = answer.get("credentials")
        if not isinstance(credentials, list) or not credentials or len(credentials) > copies:
            raise OfferInvalid("the issuer's answer carries no credentials")
        issuer_did = metadata.get("issuer_did")
        vct = str(configuration["vct"])
        pool = _Keys({thumbprint_of(public_jwk_of(k)): k for k in keys})
        now = self._clock()
        stored: list[dict[str, Any]] = []
        first: VerifiedSDJWTVC | None = None
        for item in credentials:  # (7)
            sd_jwt = item.get("credential") if isinstance(item, dict) else None
            if not isinstance(sd_jwt, str):
                raise OfferInvalid("a credential in the issuer's answer is not a string")
            verified = verify_received(
                sd_jwt,
                expected_vct=vct,
                expected_issuer_did=issuer_did if isinstance(issuer_did, str) else None,
                ledger=self._ledger,
                now=now,
            )
            try:
                cnf = holder_key_from_cnf(verified.sd_jwt.payload)
            except GovidError as exc:
                raise HolderBindingMismatch("the credential is not bound to a holder key") from exc
            key = pool.take(thumbprint_of(jwk_from_public_key(cnf)))
            if first is not None and (verified.iss, verified.vct) != (first.iss, first.vct):
                raise IssuerMetadataMismatch("the copies of one credential differ")
            first = first or verified
            stored.append(
                {
                    "sd_jwt": sd_jwt,
                    "holder_jwk": jwk_from_private_key(key),
                    "status": verified.status,
                }
            )
        assert first is not None
        claims = {k: v for k, v in first.claims.items() if k not in REGISTERED}
        paths = [list(d.path) for d in disclosure_map(stored[0]["sd_jwt"])]
        record = {
            "vct": first.vct,
            "iss": first.iss,
            "credential_issuer": preview.offer.credential_issuer,
            "configuration_id": configuration_id,
            "display": _display(metadata, configuration),
            "claims": claims,
            "disclosable": paths,
            "iat": first.claims.get("iat"),
            "exp": first.claims.get("exp"),
            "status": "unknown",
            "status_checked_at": None,
        }
        return ReceivedCredential(configuration_id, record, tuple(stored))


def _credential_identifiers(details: object) -> dict[str, str]:
    """§6.2: `authorization_details` of type `openid_credential` name credential identifiers."""
    out: dict[str, str] = {}
    if not isinstance(details, list):
        return out
    for item in details:
        if not isinstance(item, dict) or item.get("type") != AUTHORIZATION_DETAILS_TYPE:
            continue
        cid, ids = item.get("credential_configuration_id"), item.get("credential_identifiers")
        if isinstance(cid, str) and isinstance(ids, list) and ids and isinstance(ids[0], str):
            out[cid] = ids[0]
    return out
