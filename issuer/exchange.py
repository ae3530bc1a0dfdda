"""The OAuth / OpenID4VCI exchange: token endpoint, nonce endpoint, credential endpoint.

- Token endpoint (RFC 6749 §4.4 and OpenID4VCI §6): the pre-authorized code
  grant for wallets (single use, short-lived, transaction code required, at
  most `max_tx_code_attempts` wrong guesses before the code is burnt) and the
  client credentials grant for agencies' systems (scopes = credential types).
- Nonce endpoint (§7): a fresh `c_nonce`, single use, short-lived.
- Credential endpoint (§8): key proofs checked (`proofs.jwt`), then in ONE
  transaction: nonces consumed, a random status index allocated per copy,
  each copy signed and bound to its proven key (`cnf.jwk`), credential rows
  written, the offer's claim values deleted. Nothing is returned unless that
  transaction committed (issue 4: "issuance never half-completes").
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError

from did.errors import GovidError
from did.keys import private_key_from_jwk
from did.sd_jwt import issue_sd_jwt_vc
from issuer.agencies import open_agency
from issuer.context import IssuerContext
from issuer.credential_types import (
    credential_type,
    derive_claims,
    disclosable_paths,
    vct_for,
)
from issuer.errors import (
    CredentialRequestDenied,
    NonceInvalid,
    OfferExpired,
    TxCodeInvalid,
    TxCodeLocked,
    UnknownCredentialConfiguration,
    UnknownCredentialIdentifier,
)
from issuer.oauth import hash_token, new_token
from issuer.offers import AgencyPrincipal, open_offer_claims
from issuer.openid4vci import (
    CredentialRequest,
    check_proof,
    distinct_keys,
)
from issuer.status_lists import allocate_slot
from issuer.store import ClientRow, CredentialRow, IssuerStore, NonceRow, OfferRow, TokenRow
from openid4vc.issuance import AUTHORIZATION_DETAILS_TYPE, PRE_AUTHORIZED_GRANT
from service.oauth import (
    CLIENT_CREDENTIALS_GRANT,
    ClientCredentials,
    InvalidGrant,
    InvalidRequest,
    InvalidScope,
    InvalidToken,
    UnsupportedGrantType,
    bearer_token,
    parse_client_credentials,
)
from service.oauth import authenticate_client as authenticate_client_credentials

__all__ = [
    "authenticate_agency",
    "authenticate_client",
    "issue_credentials",
    "new_nonce",
    "token_request",
]

_ISSUE_ATTEMPTS = 3  # a status slot taken by a concurrent issuance: draw again


# --- token endpoint --------------------------------------------------------------------


log = logging.getLogger("govid.issuer.exchange")


def token_request(
    ctx: IssuerContext, form: Mapping[str, str], *, authorization: str | None
) -> dict[str, Any]:
    """Answer a Token Request (RFC 6749 §5.1 shape) or raise a govid error."""
    grant_type = form.get("grant_type")
    if grant_type == PRE_AUTHORIZED_GRANT:
        return _pre_authorized(ctx, form)
    if grant_type == CLIENT_CREDENTIALS_GRANT:
        return _client_credentials(ctx, form, authorization)
    if not grant_type:
        raise InvalidRequest("grant_type is missing")
    raise UnsupportedGrantType("this grant type is not supported")


def _pre_authorized(ctx: IssuerContext, form: Mapping[str, str]) -> dict[str, Any]:
    code = form.get("pre-authorized_code")
    if not code:
        raise InvalidRequest("pre-authorized_code is missing")
    tx_code = form.get("tx_code")
    now = ctx.now_s()
    with ctx.session() as session:
        store = IssuerStore(session)
        offer = store.offer_by_code(hash_token(code), for_update=True)
        if offer is None or offer.state != "pending":
            # Unknown, replayed, locked or expired: one answer (RFC 6749 §5.2 invalid_grant).
            raise InvalidGrant("the pre-authorized code is not valid")
        if offer.expires_at <= now:
            offer.state, offer.claims = "expired", None
            store.add(offer)
            session.commit()
            raise OfferExpired("the offer has expired")
        if offer.tx_code_hash is not None:
            if not tx_code:
                # §6.3: a Transaction Code was expected but not sent: invalid_request.
                raise InvalidRequest("tx_code is missing")
            expected = ctx.kek.mac(f"{offer.id}:{tx_code}".encode())
            # Issue 13 item 16: a MAC is compared in constant time.
            if not hmac.compare_digest(expected.encode(), offer.tx_code_hash.encode()):
                _wrong_tx_code(ctx, store, offer, now)
                session.commit()
                if offer.state == "locked":
                    raise TxCodeLocked("too many wrong transaction codes; ask for a new offer")
                raise TxCodeInvalid("the transaction code is wrong")
        token = new_token(ctx.token_bytes)
        ttl = ctx.settings.wallet_token_ttl
        # The claim values now live only as long as the access token that fetches them.
        offer.state, offer.expires_at = "redeemed", now + ttl
        store.add(offer)
        store.add(
            TokenRow(
                token_hash=hash_token(token),
                kind="wallet",
                agency=offer.agency,
                offer_id=offer.id,
                scopes=offer.configuration_id,
                expires_at=now + ttl,
            )
        )
        store.audit(
            at=now, agency=offer.agency, actor="wallet", action="offer.redeem", target=offer.id
        )
        session.commit()
    return {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": ttl,
        "authorization_details": [
            {
                "type": AUTHORIZATION_DETAILS_TYPE,
                "credential_configuration_id": offer.configuration_id,
                "credential_identifiers": [offer.configuration_id],
            }
        ],
    }


def _wrong_tx_code(ctx: IssuerContext, store: IssuerStore, offer: OfferRow, now: int) -> None:
    offer.tx_attempts += 1
    if offer.tx_attempts >= ctx.settings.max_tx_code_attempts:
        offer.state, offer.claims = "locked", None  # burnt: the claims go too
    store.add(offer)
    store.audit(
        at=now, agency=offer.agency, actor="wallet", action="offer.tx_code_wrong", target=offer.id
    )


def _check_client(store: IssuerStore, credentials: ClientCredentials | None) -> ClientRow:
    def stored_hash(client_id: str) -> str | None:
        row = store.client(client_id)
        return row.secret_hash if row is not None else None

    client = store.client(authenticate_client_credentials(credentials, stored_hash=stored_hash))
    assert client is not None  # authenticated just now
    return client


def authenticate_client(ctx: IssuerContext, authorization: str | None) -> AgencyPrincipal:
    """An agency's staff on the web page: HTTP Basic with the client's id and secret."""
    credentials = parse_client_credentials(authorization=authorization, form={})
    with ctx.session() as session:
        client = _check_client(IssuerStore(session), credentials)
    return AgencyPrincipal(client.agency, client.client_id, frozenset(client.scopes.split()))


def _client_credentials(
    ctx: IssuerContext, form: Mapping[str, str], authorization: str | None
) -> dict[str, Any]:
    credentials = parse_client_credentials(authorization=authorization, form=form)
    now = ctx.now_s()
    with ctx.session() as session:
        store = IssuerStore(session)
        client = _check_client(store, credentials)
        granted = set(client.scopes.split())
        requested = set(form["scope"].split()) if form.get("scope") else granted
        if not requested <= granted:
            # RFC 6749 §5.2: a scope beyond what the client was granted is invalid_scope.
            raise InvalidScope("the client may not ask for these scopes")
        token = new_token(ctx.token_bytes)
        ttl = ctx.settings.agency_token_ttl
        store.add(
            TokenRow(
                token_hash=hash_token(token),
                kind="agency",
                agency=client.agency,
                client_id=client.client_id,
                scopes=" ".join(sorted(requested)),
                expires_at=now + ttl,
            )
        )
        session.commit()
    return {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": ttl,
        "scope": " ".join(sorted(requested)),
    }


def _live_token(ctx: IssuerContext, store: IssuerStore, authorization: str | None) -> TokenRow:
    token = bearer_token(authorization)
    if token is None:
        raise InvalidToken("a bearer access token is required")
    row = store.token(hash_token(token))
    if row is None or row.expires_at <= ctx.now_s():
        raise InvalidToken("the access token is not valid")
    return row


def authenticate_agency(ctx: IssuerContext, authorization: str | None) -> AgencyPrincipal:
    with ctx.session() as session:
        row = _live_token(ctx, IssuerStore(session), authorization)
    if row.kind != "agency" or row.client_id is None:
        raise InvalidToken("the access token is not an agency token")
    return AgencyPrincipal(row.agency, row.client_id, frozenset(row.scopes.split()))


# --- nonce endpoint --------------------------------------------------------------------


def new_nonce(ctx: IssuerContext) -> dict[str, str]:
    """A fresh `c_nonce` (§7.2); stored hashed, consumed by the first proof that uses it."""
    nonce = new_token(ctx.token_bytes)
    now = ctx.now_s()
    with ctx.session() as session:
        store = IssuerStore(session)
        store.purge_expired(now=now)
        store.add(NonceRow(nonce_hash=hash_token(nonce), expires_at=now + ctx.settings.nonce_ttl))
        session.commit()
    return {"c_nonce": nonce}


# --- credential endpoint ---------------------------------------------------------------


def issue_credentials(
    ctx: IssuerContext, agency: str, body: object, *, authorization: str | None
) -> dict[str, Any]:
    """Answer a Credential Request (§8.3): one SD-JWT VC per proven key."""
    request = CredentialRequest.parse(body, batch_size=ctx.settings.batch_size)
    now = ctx.clock()
    audience = ctx.issuer_id(agency)
    max_age = timedelta(seconds=ctx.settings.proof_max_age)
    keys = [check_proof(p, audience=audience, now=now, max_age=max_age) for p in request.proofs]
    distinct_keys(keys)
    for attempt in range(_ISSUE_ATTEMPTS):
        try:
            return _issue(ctx, agency, request, keys, authorization)
        except IntegrityError:
            # Two issuances drew the same status slot at once; the loser rolled back
            # entirely (its nonces too) and draws again.
            if attempt == _ISSUE_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def _issue(
    ctx: IssuerContext,
    agency: str,
    request: CredentialRequest,
    keys: list[Any],
    authorization: str | None,
) -> dict[str, Any]:
    now = ctx.clock()
    now_s = int(now.timestamp())
    with ctx.session() as session:
        store = IssuerStore(session)
        token = _live_token(ctx, store, authorization)
        if token.kind != "wallet" or token.agency != agency or token.offer_id is None:
            raise InvalidToken("the access token is not for this credential issuer")
        offer = store.offer_for_update(token.offer_id)
        if offer is None or offer.state != "redeemed" or offer.claims is None:
            raise CredentialRequestDenied("the credentials of this offer were already issued")
        if request.identifier is not None and request.identifier != offer.configuration_id:
            raise UnknownCredentialIdentifier("no credential of this token has this identifier")
        if (
            request.configuration_id is not None
            and request.configuration_id != offer.configuration_id
        ):
            raise UnknownCredentialConfiguration(
                "this token is for another credential configuration"
            )
        for nonce in sorted({k.nonce for k in keys}):
            if not store.consume_nonce(hash_token(nonce), now=now_s):
                raise NonceInvalid("the c_nonce is unknown, used or expired")
        agency_row = store.agency(agency)
        if agency_row is None:
            raise CredentialRequestDenied("the agency no longer exists")
        agency_keys = open_agency(ctx, agency_row)
        ctype = credential_type(offer.configuration_id)
        vct = vct_for(ctype, ctx.settings.vct_root)
        claims = derive_claims(ctype, open_offer_claims(ctx, offer), today=now.date())
        paths = disclosable_paths(ctype, claims)
        keyring = agency_keys.keyring
        signing_key = private_key_from_jwk(keyring.document_keys[keyring.signing_fragment])
        exp = now + timedelta(days=ctype.validity_days)
        batch_id = new_token(ctx.token_bytes)[:22]
        credentials = []
        unpublished = False
        for proven in keys:
            status_list, idx = allocate_slot(ctx, store, agency)
            unpublished = unpublished or status_list.sequence == 0
            issued = issue_sd_jwt_vc(
                claims,
                issuer_key=signing_key,
                kid=keyring.signing_kid,
                iss=agency_keys.did,
                vct=vct,
                iat=now,
                exp=exp,
                holder_key=proven.key,
                status={"status_list": {"idx": idx, "uri": status_list.uri}},
                disclosable=paths,
            )
            assert status_list.id is not None
            store.add(
                CredentialRow(
                    id=new_token(ctx.token_bytes)[:22],
                    agency=agency,
                    offer_id=offer.id,
                    batch_id=batch_id,
                    configuration_id=offer.configuration_id,
                    list_id=status_list.id,
                    idx=idx,
                    subject_hash=offer.subject_hash,
                    issued_at=now_s,
                    expires_at=int(exp.timestamp()),
                )
            )
            credentials.append({"credential": issued.serialize()})
        # Data minimisation (issue 4 item 6): the claim values go with the redemption.
        offer.state, offer.claims = "issued", None
        store.add(offer)
        store.audit(
            at=now_s, agency=agency, actor="wallet", action="credential.issue", target=batch_id
        )
        session.commit()  # only now is anything returned
    if unpublished:
        # A list no counter can find on the ledger would make every credential
        # in it fail its status check: put a new list there before answering.
        # If the ledger is unreachable the periodic publisher catches up.
        from issuer.status_lists import publish_status_lists

        try:
            publish_status_lists(ctx, agency=agency)
        except GovidError:
            log.warning("a new status list could not be published yet")
    return {"credentials": credentials}
