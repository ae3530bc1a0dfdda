"""Presenting credentials: an OpenID4VP 1.0 client (request by reference, `direct_post`).

Section numbers are OpenID4VP 1.0's. `PresentationClient.prepare` runs:

  1. parse `openid4vp://?client_id=...&request_uri=...` (§5.10);
  2. fetch the request object from `request_uri` (RFC 9101 §5.2);
  3. verify it (`verify_request_object`): `typ: oauth-authz-req+jwt` (§5);
     `client_id` identical to the one in the URL (§5.10); prefix
     `decentralized_identifier:` (§5.9.3), whose DID is resolved on the
     ledger and whose key, named by `kid`, signed the request; `iat`/`exp`;
     `response_type: vp_token`, `response_mode: direct_post` with a
     `response_uri` (§8.2), a `nonce`, and a `dcql_query` (§6);
  4. check the verifier is accredited on the ledger (role `verifier`) for
     every credential type it asks and, where its accreditation lists claims,
     for every claim (issue 6 "bad input");
  5. match the query against the wallet's credentials (`openid4vc.dcql`, the
     verifier's own DCQL)
     and build the consent model: who asks, each requested claim, which
     credential would answer it.

Nothing is sent before the citizen approves. `build_vp_token` then makes one
SD-JWT+KB per answered query, from a fresh copy, with the KB-JWT's `aud` the
Client Identifier and `nonce` the request's (Appendix B.3.5), and `submit`
POSTs `vp_token` and `state` form-encoded to `response_uri` (§8.2). A refusal
sends the error response `access_denied` (§8.5), which carries no data.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final
from urllib.parse import parse_qs, urlsplit

from did.errors import GovidError, MalformedInput, VerificationFailed
from did.jose import parse_unverified_jws, verify_jwt
from did.keys import PrivateKey
from did.sd_jwt import present_sd_jwt
from did.validity import check_time_claims
from holder_wallet._http import json_object
from holder_wallet.errors import (
    NoMatchingCredential,
    PresentationRequestInvalid,
    ProtocolUnsupported,
    RequestNotVerified,
    VerifierNotAccredited,
)
from holder_wallet.ledger import Ledger
from openid4vc.dcql import (
    ClaimQuery,
    DCQLQuery,
    resolve_path,
    select_claims,
    select_credentials,
)
from openid4vc.errors import QueryInvalid
from openid4vc.presentation import (
    AUTHORIZATION_REQUEST_SCHEMES,
    CLIENT_ID_PREFIX,
    REQUEST_OBJECT_MEDIA_TYPE,
    REQUEST_OBJECT_TYP,
    RESPONSE_MODE,
    RESPONSE_TYPE,
    SELF_ISSUED_AUD,
)
from service.fetch import Fetcher, FetchPolicy, check_url

__all__ = [
    "ConsentItem",
    "ConsentRequest",
    "PresentationClient",
    "VerifiedRequest",
    "build_consent",
    "build_vp_token",
    "check_verifier_accredited",
    "parse_authorization_request",
    "verify_request_object",
]

SCHEMES: Final = frozenset(AUTHORIZATION_REQUEST_SCHEMES)


def parse_authorization_request(uri: str) -> tuple[str, str, str]:
    """`(client_id, request_uri, request_uri_method)` from the QR's URI (§5.10)."""
    if not isinstance(uri, str) or len(uri) > 8192:
        raise PresentationRequestInvalid("this is not a presentation request")
    parts = urlsplit(uri.strip())
    if parts.scheme not in SCHEMES and parts.scheme not in ("https", "http"):
        raise PresentationRequestInvalid("this is not a presentation request")
    query = parse_qs(parts.query, keep_blank_values=True)
    if "request" in query:
        # Request by value is unsigned here or needs no fetch; govid requires by reference.
        raise RequestNotVerified("the request is not passed by reference to a signed object")
    client_id, request_uri = query.get("client_id"), query.get("request_uri")
    if not client_id or not request_uri or len(client_id) != 1 or len(request_uri) != 1:
        raise PresentationRequestInvalid("the request lacks client_id or request_uri")
    method = query.get("request_uri_method", ["get"])[0]
    if method not in ("get", "post"):
        raise PresentationRequestInvalid("request_uri_method is neither get nor post")
    return client_id[0], request_uri[0], method


@dataclass(frozen=True, slots=True)
class VerifiedRequest:
    """A request object whose signature and parameters were checked."""

    client_id: str
    verifier_did: str
    response_uri: str
    nonce: str
    state: str | None
    query: DCQLQuery
    client_name: str | None


def verify_request_object(
    jwt: str,
    *,
    client_id: str,
    ledger: Ledger,
    now: datetime,
    url_policy: FetchPolicy,
) -> VerifiedRequest:
    """Step 3 of the module docstring.

    Raises `wallet.request_unverified` or `wallet.request_invalid`.
    """
    try:
        jws = parse_unverified_jws(jwt.strip())
    except MalformedInput as exc:
        raise RequestNotVerified("the request is not a signed request object") from exc
    header = jws.header
    if header.get("alg") == "none":
        raise RequestNotVerified("the request object is not signed")
    if not client_id.startswith(CLIENT_ID_PREFIX):
        raise ProtocolUnsupported("only verifiers identified by a DID are supported")
    did = client_id[len(CLIENT_ID_PREFIX) :]
    if not did.startswith("did:govid:"):
        raise RequestNotVerified("the verifier's DID is not on the ledger")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid.startswith(did + "#"):
        # §5.9.3: the `kid` is a DID URL of the Client Identifier's DID.
        raise RequestNotVerified("the request object is not signed by a key of the verifier's DID")
    try:
        key = ledger.verification_key(
            kid, did=did, relationships=("authentication", "assertionMethod")
        )
        claims = verify_jwt(jws, key, typ=REQUEST_OBJECT_TYP)
        check_time_claims(claims, now=now)
    except (MalformedInput, VerificationFailed) as exc:
        raise RequestNotVerified(f"the request's signature does not verify ({exc.code})") from exc
    if claims.get("client_id") != client_id:  # §5.10
        raise RequestNotVerified("the request object is for another client_id")
    aud = claims.get("aud")
    if aud is not None and aud != SELF_ISSUED_AUD and aud != [SELF_ISSUED_AUD]:  # §5.8
        raise RequestNotVerified("the request object is meant for another audience")
    if claims.get("response_type") != RESPONSE_TYPE:
        raise ProtocolUnsupported("only vp_token requests are supported")
    if claims.get("response_mode") != RESPONSE_MODE:
        raise ProtocolUnsupported("only the direct_post response mode is supported")
    # Where the wallet will POST after consent: the same rules as every fetch.
    response_uri = str(check_url(claims.get("response_uri"), url_policy))
    nonce, state = claims.get("nonce"), claims.get("state")
    if not isinstance(nonce, str) or not nonce:
        raise PresentationRequestInvalid("the request has no nonce")
    if state is not None and not isinstance(state, str):
        raise PresentationRequestInvalid("the request's state is not a string")
    if "dcql_query" not in claims:
        raise ProtocolUnsupported("only DCQL queries are supported")
    try:
        query = DCQLQuery.parse(claims["dcql_query"])
    except QueryInvalid as exc:
        raise PresentationRequestInvalid(
            f"the request's DCQL query is invalid: {exc.message}"
        ) from exc
    metadata = claims.get("client_metadata")
    name = metadata.get("client_name") if isinstance(metadata, dict) else None
    return VerifiedRequest(
        client_id,
        did,
        response_uri,
        nonce,
        state,
        query,
        name[:100] if isinstance(name, str) else None,
    )


def _claim_name(path: Sequence[object]) -> str:
    return ".".join("*" if p is None else str(p) for p in path)


def check_verifier_accredited(request: VerifiedRequest, *, ledger: Ledger, now: datetime) -> None:
    """Step 4: every query's types (and claims, where the accreditation lists claims)."""
    accreditations = [
        a
        for a in ledger.accreditations(request.verifier_did)
        if a.role == "verifier" and a.active_at(now.timestamp())
    ]
    if not accreditations:
        raise VerifierNotAccredited("this verifier is not accredited on the ledger")
    for query in request.query.credentials:
        if not query.vct_values:
            raise VerifierNotAccredited(
                "the verifier asks for a credential without naming its type"
            )
        for vct in query.vct_values:
            covering = [a for a in accreditations if vct in a.credential_types]
            if not covering:
                raise VerifierNotAccredited(
                    "the verifier is not accredited for a type of credential it asks for"
                )
            for claim in query.claims or ():
                names = {_claim_name(claim.path), str(claim.path[0])}
                if not any(not a.claims or names & set(a.claims) for a in covering):
                    raise VerifierNotAccredited(
                        "the verifier asks for more claims than it is accredited for"
                    )


@dataclass(frozen=True, slots=True)
class ConsentItem:
    """One credential query: what is asked, and which credential would answer it."""

    query_id: str
    credential_id: str | None
    credential_name: str | None
    issuer: str | None
    claims: tuple[dict[str, Any], ...]  # {"path", "label", "value"}
    asked: tuple[str, ...]  # labels of every claim asked, answerable or not
    paths: tuple[tuple[str | int | None, ...], ...]


@dataclass(frozen=True, slots=True)
class ConsentRequest:
    """Everything the consent screen shows; nothing here has been sent."""

    request: VerifiedRequest
    items: tuple[ConsentItem, ...]
    satisfiable: bool
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def verifier(self) -> str:
        return self.request.client_name or self.request.verifier_did

    def text(self) -> str:
        """The consent as plain text (for the command line)."""
        lines = [
            f"{self.verifier} ({self.request.verifier_did}) asks for:",
        ]
        for item in self.items:
            if item.credential_id is None:
                lines.append(f"  - {', '.join(item.asked)}: no credential in this wallet answers")
                continue
            lines.append(f"  from your {item.credential_name} ({item.issuer}):")
            for claim in item.claims:
                lines.append(f"    - {claim['label']}: {claim['value']}")
        if not self.satisfiable:
            lines.append("This wallet cannot answer everything that is asked.")
        return "\n".join(lines)


def _label(record: Mapping[str, Any], path: Sequence[object]) -> str:
    for entry in record.get("display", {}).get("claims", []):
        if entry.get("path") == list(path) and isinstance(entry.get("label"), str):
            return str(entry["label"])
    return _claim_name(path).replace("_", " ")


def build_consent(
    request: VerifiedRequest, credentials: Sequence[tuple[str, Mapping[str, Any]]]
) -> ConsentRequest:
    """Step 5: `credentials` are `(id, record)` of the wallet, oldest first (pure)."""
    found: dict[str, tuple[str, Mapping[str, Any], tuple[ClaimQuery, ...]]] = {}
    for query in request.query.credentials:
        for cid, record in credentials:
            if record.get("status") in ("revoked", "suspended"):
                continue
            chosen = select_claims(query, vct=str(record.get("vct")), claims=record["claims"])
            if chosen is not None:
                found[query.id] = (cid, record, chosen)
                break
    ids, satisfiable = select_credentials(request.query, set(found))
    items = []
    for query in request.query.credentials:
        asked = tuple(_label({}, c.path) for c in query.claims or ())
        if query.id not in ids:
            if query.id in found:
                continue  # answerable but another option of its set was chosen
            items.append(ConsentItem(query.id, None, None, None, (), asked, ()))
            continue
        cid, record, chosen = found[query.id]
        claims = tuple(
            {
                "path": list(c.path),
                "label": _label(record, c.path),
                "value": ", ".join(str(v) for v in resolve_path(record["claims"], c.path)),
            }
            for c in chosen
        )
        display = record.get("display", {})
        items.append(
            ConsentItem(
                query.id,
                cid,
                display.get("name"),
                display.get("issuer_name") or record.get("iss"),
                claims,
                asked,
                tuple(c.path for c in chosen),
            )
        )
    return ConsentRequest(request, tuple(items), satisfiable)


def _disclose_paths(paths: Sequence[Sequence[str | int | None]]) -> list[list[str | int]]:
    """A `null` step asks for every element: disclose the whole array above it."""
    out: list[list[str | int]] = []
    for path in paths:
        concrete: list[str | int] = []
        for step in path:
            if step is None:
                break
            concrete.append(step)
        out.append(concrete)
    return out


def build_vp_token(
    consent: ConsentRequest,
    copies: Mapping[str, tuple[str, PrivateKey]],
    *,
    now: datetime,
) -> dict[str, list[str]]:
    """The DCQL `vp_token` (§8.1): query id -> [SD-JWT+KB]. `copies`: query id -> (SD-JWT,
    holder key) of the fresh copy chosen for it."""
    token: dict[str, list[str]] = {}
    for item in consent.items:
        if item.credential_id is None:
            continue
        sd_jwt, key = copies[item.query_id]
        token[item.query_id] = [
            present_sd_jwt(
                sd_jwt,
                disclose=_disclose_paths(item.paths),
                holder_key=key,
                aud=consent.request.client_id,  # Appendix B.3.5
                nonce=consent.request.nonce,
                now=now,
            )
        ]
    if not token:
        raise NoMatchingCredential("no credential in this wallet answers this request")
    return token


class PresentationClient:
    """Fetch, verify and answer presentation requests. HTTP, time and the ledger are passed in.

    `fetch` must follow `FetchPolicy.untrusted`: the request URI is whatever
    a QR code said, and it is fetched before the citizen has seen anything.
    """

    def __init__(
        self,
        fetch: Fetcher,
        *,
        ledger: Ledger,
        clock: Callable[[], datetime],
    ) -> None:
        self._fetch = fetch
        self._ledger = ledger
        self._clock = clock

    def fetch(self, uri: str) -> VerifiedRequest:
        client_id, request_uri, method = parse_authorization_request(uri)  # (1)
        headers = {"Accept": REQUEST_OBJECT_MEDIA_TYPE}
        response = self._fetch.request(  # (2)
            "POST" if method == "post" else "GET", request_uri, headers=headers
        )
        if response.status_code != 200:
            raise PresentationRequestInvalid("the verifier did not serve its request")
        now = self._clock()
        verified = verify_request_object(  # (3)
            response.text,
            client_id=client_id,
            ledger=self._ledger,
            now=now,
            url_policy=self._fetch.policy,
        )
        check_verifier_accredited(verified, ledger=self._ledger, now=now)  # (4)
        return verified

    def submit(
        self, request_: VerifiedRequest, vp_token: Mapping[str, list[str]]
    ) -> dict[str, Any]:
        form = {"vp_token": json.dumps(vp_token, separators=(",", ":"))}
        if request_.state is not None:
            form["state"] = request_.state
        response = self._fetch.post(request_.response_uri, data=form)
        return json_object(response, who="verifier", error=PresentationRequestInvalid)

    def decline(self, request_: VerifiedRequest) -> None:
        """§8.5: tell the verifier the citizen said no. Best effort; carries no data."""
        form = {"error": "access_denied", "error_description": "the holder declined"}
        if request_.state is not None:
            form["state"] = request_.state
        try:
            self._fetch.post(request_.response_uri, data=form)
        except GovidError:
            pass
