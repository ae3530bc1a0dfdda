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

import functools
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
    sd_slots,
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
from issuer.store import ClientRow, CredentialRow, IssuerStore, NonceRow, TokenRow
from openid4vc.issuance import AUTHORIZATION_DETAILS_TYPE, PRE_AUTHORIZED_GRANT
from service.oauth import (
    CLIENT_CREDENTIALS_GRANT,
    ClientCredentials,
    InvalidClient,
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
    "purge_expired",
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
    """The pre-authorized code grant: every step that decides is one conditional UPDATE.

    1. The code names a pending offer, else `invalid_grant` (unknown, replayed,
       locked or expired: one answer, RFC 6749 §5.2).
    2. An expired offer is marked so (its claims deleted) and refused.
    3. With a transaction code: one of the offer's `max_tx_code_attempts` is
       charged in SQL *before* the comparison, so however many guesses arrive
       at once, at most that many are ever compared; the guess that uses the
       last attempt and is wrong burns the code.
    4. pending -> redeemed by exactly one request; only that one gets a token.
    """
    code = form.get("pre-authorized_code")
    if not code:
        raise InvalidRequest("pre-authorized_code is missing")
    tx_code = form.get("tx_code")
    now = ctx.now_s()
    with ctx.session() as session:
        store = IssuerStore(session)
        offer = store.offer_by_code(hash_token(code))
        if offer is None or offer.state != "pending":  # (1)
            raise InvalidGrant("the pre-authorized code is not valid")
        if offer.expires_at <= now:  # (2)
            if store.expire_offer(offer.id):
                session.commit()
            raise OfferExpired("the offer has expired")
        if offer.tx_code_hash is not None:  # (3)
            if not tx_code:
                # §6.3: a Transaction Code was expected but not sent: invalid_request.
                raise InvalidRequest("tx_code is missing")
            limit = ctx.settings.max_tx_code_attempts
            used = store.charge_tx_attempt(offer.id, limit=limit)
            if used is None:
                raise InvalidGrant("the pre-authorized code is not valid")
            expected = ctx.kek.mac(f"{offer.id}:{tx_code}".encode())
            # Issue 13 item 16: a MAC is compared in constant time.
            if not hmac.compare_digest(expected.encode(), offer.tx_code_hash.encode()):
                locked = used >= limit and store.lock_offer(offer.id)
                store.audit(
                    at=now, agency=offer.agency, actor="wallet",
                    action="offer.tx_code_wrong", target=offer.id,
                )  # fmt: skip
                session.commit()
                if locked:
                    raise TxCodeLocked("too many wrong transaction codes; ask for a new offer")
                raise TxCodeInvalid("the transaction code is wrong")
        token = new_token(ctx.token_bytes)
        ttl = ctx.settings.wallet_token_ttl
        # The claim values now live only as long as the access token that fetches them.
        if not store.redeem_offer(offer.id, expires_at=now + ttl):  # (4)
            raise InvalidGrant("the pre-authorized code is not valid")
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


_MAX_CLIENT_ID = 128  # ours are ~20 characters; a longer one is never charged or looked up


def _check_client(
    ctx: IssuerContext, store: IssuerStore, credentials: ClientCredentials | None
) -> ClientRow:
    """The client, if the credentials match; the account's failure limit is charged first."""
    if credentials is None or not credentials.client_id or not credentials.client_secret:
        raise InvalidClient("client authentication is required")
    if len(credentials.client_id) > _MAX_CLIENT_ID:
        raise InvalidClient("client authentication is required")
    ticket = ctx.login_failures.charge([credentials.client_id])

    def stored_hash(client_id: str) -> str | None:
        row = store.client(client_id)
        return row.secret_hash if row is not None else None

    client = store.client(authenticate_client_credentials(credentials, stored_hash=stored_hash))
    assert client is not None  # authenticated just now
    ctx.login_failures.refund(ticket)
    return client


def authenticate_client(ctx: IssuerContext, authorization: str | None) -> AgencyPrincipal:
    """An agency's staff on the web page: HTTP Basic with the client's id and secret."""
    credentials = parse_client_credentials(authorization=authorization, form={})
    with ctx.read_session() as session:
        client = _check_client(ctx, IssuerStore(session), credentials)
    return AgencyPrincipal(client.agency, client.client_id, frozenset(client.scopes.split()))


def _client_credentials(
    ctx: IssuerContext, form: Mapping[str, str], authorization: str | None
) -> dict[str, Any]:
    credentials = parse_client_credentials(authorization=authorization, form=form)
    now = ctx.now_s()
    # The secret is checked (scrypt) outside the write transaction.
    with ctx.read_session() as session:
        client = _check_client(ctx, IssuerStore(session), credentials)
    granted = set(client.scopes.split())
    requested = set(form["scope"].split()) if form.get("scope") else granted
    if not requested <= granted:
        # RFC 6749 §5.2: a scope beyond what the client was granted is invalid_scope.
        raise InvalidScope("the client may not ask for these scopes")
    token = new_token(ctx.token_bytes)
    ttl = ctx.settings.agency_token_ttl
    with ctx.session() as session:
        store = IssuerStore(session)
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
    with ctx.read_session() as session:
        row = _live_token(ctx, IssuerStore(session), authorization)
    if row.kind != "agency" or row.client_id is None:
        raise InvalidToken("the access token is not an agency token")
    return AgencyPrincipal(row.agency, row.client_id, frozenset(row.scopes.split()))


# --- nonce endpoint --------------------------------------------------------------------


def new_nonce(ctx: IssuerContext) -> dict[str, str]:
    """A fresh `c_nonce` (§7.2); stored hashed, consumed by the first proof that uses it."""
    nonce = new_token(ctx.token_bytes)
    now = ctx.now_s()
    # Expired nonces are deleted by the periodic purge (`purge_expired`), not here:
    # an anonymous request costs one INSERT, never a sweep of the table.
    with ctx.session() as session:
        store = IssuerStore(session)
        store.add(NonceRow(nonce_hash=hash_token(nonce), expires_at=now + ctx.settings.nonce_ttl))
        session.commit()
    return {"c_nonce": nonce}


def purge_expired(ctx: IssuerContext) -> dict[str, int]:
    """Delete what has expired: nonces, access tokens, offers never issued (run on a timer)."""
    with ctx.session() as session:
        purged = IssuerStore(session).purge_expired(now=ctx.now_s())
        session.commit()
    return purged


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
        offer = store.offer(token.offer_id)
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
        claim_values = open_offer_claims(ctx, offer)
        # redeemed -> issued (claims deleted) by exactly one request; a rollback
        # below (bad nonce, slot collision) puts the offer back as it was.
        if not store.take_offer_for_issuance(offer.id):
            raise CredentialRequestDenied("the credentials of this offer were already issued")
        for nonce in sorted({k.nonce for k in keys}):
            if not store.consume_nonce(hash_token(nonce), now=now_s):
                raise NonceInvalid("the c_nonce is unknown, used or expired")
        agency_row = store.agency(agency)
        if agency_row is None:
            raise CredentialRequestDenied("the agency no longer exists")
        agency_keys = open_agency(ctx, agency_row)
        ctype = credential_type(offer.configuration_id)
        vct = vct_for(ctype, ctx.settings.vct_root)
        claims = derive_claims(ctype, claim_values, today=now.date())
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
                # RFC 9901 §4.2.5: the `_sd` counts tell nothing about optional claims.
                sd_padding=functools.partial(sd_slots, ctype),
                decoys=ctx.settings.sd_decoys,
                decoy_rng=ctx.rng,
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
        # Data minimisation (issue 4 item 6): the claim values went with the
        # transition to "issued" above, in this same transaction.
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
