"""The verifier's use cases, one function per endpoint: routers call these and nothing else.

`VerifierContext` carries everything that does I/O or varies per deployment
(database engine, ledger lookups, the verifier's keyring, the clock), so the
same functions serve the HTTP API, the counter page and tests.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from did.errors import MalformedInput
from openid4vc.dcql import DCQLQuery
from openid4vc.errors import QueryInvalid
from registry.authoring import Keyring
from service.oauth import (
    ClientCredentials,
    InvalidToken,
    authenticate_client,
    needs_rehash,
)
from service.private_files import scrub_wal
from verifier.engine import verify_presentation
from verifier.errors import (
    SessionKindMismatch,
    SessionNotFound,
    VPTokenMalformed,
)
from verifier.lookups import CachingLookups, Evidence, LedgerLookups
from verifier.offline import decode_offline
from verifier.openid4vp import (
    authorization_request_uri,
    build_request_object,
    client_id_for,
    parse_vp_token,
    verify_vp_token,
)
from verifier.policy import TrustPolicy
from verifier.store import PENDING, AccessTokenRow, SessionRow, SqlSessionStore
from verifier.templates import template_query

__all__ = ["VerifierContext"]

OPENID4VP, OFFLINE = "openid4vp", "offline"
# A one-time request reference is urlsafe base64 of 32 random bytes (43 characters).
_HANDLE_MAX = 64

# A finished or expired session (its verdict, never its claims) stays readable
# this long after it expired, then it is deleted with its nonce and state.
SESSION_KEEP_MS = 86_400_000


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


log = logging.getLogger("govid.verifier")


def token_hash(token: str) -> str:
    """How access tokens are stored: SHA-256 hex (256-bit random, so a fast hash is enough)."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class VerifierContext:
    engine: Engine
    policy: TrustPolicy
    lookups: LedgerLookups
    keyring: Keyring
    public_url: str
    clock: Callable[[], datetime]
    vct_base: str = "https://govid.example"
    request_lifetime: timedelta = timedelta(minutes=5)
    retention: timedelta | None = None
    # client_id -> `service.oauth.hash_client_secret` of its secret
    clients: Mapping[str, str] = field(default_factory=dict)
    token_lifetime: timedelta = timedelta(hours=1)
    # How long a sign-in to the counter page lasts (`verifier.accounts`).
    counter_session_lifetime: timedelta = timedelta(hours=8)
    # Told every verification outcome (channel, accepted): the app counts them.
    on_outcome: Callable[[str, bool], None] | None = None

    def __post_init__(self) -> None:
        # docs/decisions/protocol.md §1: older SHA-256 entries still verify; say so once.
        old = sorted(cid for cid, stored in self.clients.items() if needs_rehash(stored))
        if old:
            log.warning(
                "client secrets of %s are stored in an older form; re-hash them with "
                "'govid verifier hash-secret'",
                ", ".join(old),
            )

    def _outcome(self, channel: str, accepted: bool) -> None:
        if self.on_outcome is not None:
            self.on_outcome(channel, accepted)

    @property
    def client_id(self) -> str:
        return client_id_for(self.keyring.did)

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    # --- OAuth 2.0 client credentials (RFC 6749 §4.4) ----------------------------------

    def issue_token(self, credentials: ClientCredentials | None) -> dict[str, Any]:
        """RFC 6749 §4.4.3: an access token for an authenticated client."""
        client_id = authenticate_client(credentials, stored_hash=self.clients.get)
        token = secrets.token_urlsafe(32)
        now = self.clock()
        with self.session() as session, session.begin():
            SqlSessionStore(session).add_token(
                AccessTokenRow(
                    token_hash=token_hash(token),
                    client_id=client_id,
                    expires_ms=_ms(now + self.token_lifetime),
                )
            )
        return {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": int(self.token_lifetime.total_seconds()),
        }

    def authenticate(self, bearer: str | None) -> str:
        """The client id behind a bearer token.

        Every API call needs one: a verifier without configured clients has no
        open API (it would hand out signed requests and their results to anyone).
        A client removed from the configuration loses its tokens at once.
        """
        if not bearer:
            raise InvalidToken("an access token is required")
        with self.session() as session:
            row = SqlSessionStore(session).token(token_hash(bearer))
        if row is None or row.expires_ms <= _ms(self.clock()) or row.client_id not in self.clients:
            raise InvalidToken("the access token is unknown or expired")
        return row.client_id

    def _tracked(self) -> tuple[LedgerLookups, Callable[[], Evidence]]:
        """Lookups for one verification, and what its report says about their evidence."""
        if isinstance(self.lookups, CachingLookups):
            tracked = self.lookups.tracking()
            return tracked, tracked.evidence
        return self.lookups, Evidence  # no cache: everything is fetched for this verification

    # --- POST /api/verify --------------------------------------------------------------

    def verify(
        self,
        *,
        presentation: str,
        aud: str,
        nonce: str,
        template: str | None,
        dcql_query: object | None,
        credential_query_id: str | None,
    ) -> dict[str, Any]:
        query = self._query(template, dcql_query, required=False)
        credential = None
        if query is not None:
            if credential_query_id is None and len(query.credentials) == 1:
                credential = query.credentials[0]
            else:
                credential = query.credential(credential_query_id or "")
            if credential is None:
                raise QueryInvalid("name the Credential Query this presentation answers")
        lookups, evidence = self._tracked()
        report = verify_presentation(
            presentation,
            expected_aud=aud,
            expected_nonce=nonce,
            query=credential,
            policy=self.policy,
            lookups=lookups,
            now=self.clock(),
        )
        self._outcome("api", report.accepted)
        return {**report.to_json(), "evidence": evidence().to_json()}

    def _query(
        self, template: str | None, dcql_query: object | None, *, required: bool
    ) -> DCQLQuery | None:
        if template is not None and dcql_query is not None:
            raise QueryInvalid("give a template or a dcql_query, not both")
        if template is not None:
            return template_query(template, vct_base=self.vct_base)
        if dcql_query is not None:
            return DCQLQuery.parse(dcql_query)
        if required:
            raise QueryInvalid("a template or a dcql_query is required")
        return None

    # --- OpenID4VP cross-device flow ------------------------------------------------------

    def create_request(
        self,
        *,
        template: str | None,
        dcql_query: object | None,
        owner: str,
        kind: str = OPENID4VP,
    ) -> dict[str, Any]:
        """A new session owned by `owner` (`verifier.owners`): only it reads the result."""
        if not owner or kind not in (OPENID4VP, OFFLINE):
            raise ValueError("a presentation session needs an owner and a known kind")
        query = self._query(template, dcql_query, required=True)
        assert query is not None
        now = self.clock()
        session_id, state, nonce = (secrets.token_urlsafe(16) for _ in range(3))
        request_jwt = handle = None
        if kind == OPENID4VP:
            # The QR carries this one-time reference, never the session id: whoever
            # sees the QR learns nothing that reads the result (govid issue 13 item 1).
            handle = secrets.token_urlsafe(32)
            request_jwt = build_request_object(
                client_id=self.client_id,
                response_uri=f"{self.public_url}/openid4vp/response",
                nonce=nonce,
                state=state,
                dcql_query=query,
                key=self.keyring.signing_key(),
                kid=self.keyring.signing_kid,
                now=now,
                lifetime=self.request_lifetime,
            )
        row = SessionRow(
            id=session_id,
            state=state,
            nonce=nonce,
            kind=kind,
            owner=owner,
            client_id=self.client_id,
            template=template,
            dcql_query=json.dumps(query.to_json()),
            request_jwt=request_jwt,
            request_handle=handle,
            status=PENDING,
            created_ms=_ms(now),
            expires_ms=_ms(now + self.request_lifetime),
        )
        with self.session() as session, session.begin():
            SqlSessionStore(session).add(row)
        return self._view(row, include_disclosed=False)

    def request_object(self, handle: str) -> str:
        """The signed request object behind a one-time `request_uri`, handed out once.

        RFC 9101 §5.2 (by reference) as OpenID4VP 1.0 §5 uses it; like the
        `request_uri` of RFC 9126 §2.2 the reference is single-use: a second
        fetch is refused (`request_uri.used`), so a QR seen over a shoulder
        cannot be fetched again once the citizen's wallet has it.
        """
        if not handle or len(handle) > _HANDLE_MAX:
            raise SessionNotFound("no presentation request has this reference")
        with self.session() as session, session.begin():
            row = SqlSessionStore(session).take_request_object(handle, now_ms=_ms(self.clock()))
        if row.request_jwt is None or row.kind != OPENID4VP:
            raise SessionNotFound("no presentation request has this reference")
        return row.request_jwt

    def _view(self, row: SessionRow, *, include_disclosed: bool) -> dict[str, Any]:
        view: dict[str, Any] = {
            "id": row.id,
            "kind": row.kind,
            "status": row.status,
            "template": row.template,
            "expires_at": row.expires_ms // 1000,
            "report": None if row.report is None else json.loads(row.report),
        }
        if row.kind == OPENID4VP:
            # Once the wallet fetched the request, the reference is spent: not shown again.
            fetched = row.request_fetched_ms is not None
            uri = f"{self.public_url}/openid4vp/request/{row.request_handle}"
            open_ = row.status == PENDING and not fetched and row.request_handle is not None
            view["request_fetched"] = fetched
            view["request_uri"] = uri if open_ else None
            view["authorization_request"] = (
                authorization_request_uri(client_id=row.client_id, request_uri=uri)
                if open_
                else None
            )
        else:
            view["challenge"] = {"aud": row.client_id, "nonce": row.nonce}
        if include_disclosed:
            view["disclosed"] = None if row.disclosed is None else json.loads(row.disclosed)
        return view

    def read_request(self, session_id: str, *, owner: str) -> dict[str, Any]:
        """The outcome, for the session's owner only (anyone else: not found).

        Disclosed claims are handed out once and then forgotten, unless the
        deployment keeps them for a retention period.
        """
        with self.session() as session, session.begin():
            store = SqlSessionStore(session)
            row = store.get(session_id)
            if not owner or row.owner != owner:
                raise SessionNotFound("no presentation request has this id")
            if row.status == PENDING and row.expires_ms <= _ms(self.clock()):
                row.status = "expired"
            view = self._view(row, include_disclosed=True)
            if row.disclosed is not None and (
                row.purge_after_ms is None or row.purge_after_ms <= _ms(self.clock())
            ):
                store.forget_disclosed(row.id)
        return view

    def handle_response(self, *, state: object, vp_token: object) -> dict[str, Any]:
        """The `direct_post` response endpoint (§8.2).

        Malformed input changes nothing (`vp_token.malformed`, 400); a well-formed
        response takes the session exactly once, then is verified and recorded.
        """
        if not isinstance(state, str) or not state:
            raise VPTokenMalformed("the response carries no state")
        with self.session() as session:
            row = SqlSessionStore(session).by_state(state)
        if row.kind != OPENID4VP:
            raise SessionNotFound("no presentation request has this state")
        query = DCQLQuery.parse(json.loads(row.dcql_query))
        parsed = parse_vp_token(vp_token, query=query)
        now = self.clock()
        with self.session() as session, session.begin():
            SqlSessionStore(session).claim(row.id, now_ms=_ms(now))
        lookups, evidence = self._tracked()
        try:
            outcome = verify_vp_token(
                parsed,
                query=query,
                client_id=row.client_id,
                nonce=row.nonce,
                policy=self.policy,
                lookups=lookups,
                now=now,
            )
            report = {**outcome.to_json(), "evidence": evidence().to_json()}
            accepted = outcome.accepted
            self._outcome("openid4vp", accepted)
            disclosed = json.dumps(outcome.disclosed) if accepted else None
        except MalformedInput as exc:
            # Taken already: a malformed presentation inside a well-formed token refuses it.
            report = {"accepted": False, "failed_check": "issuer_signature", "error": exc.code,
                      "error_description": exc.message, "credentials": {}}  # fmt: skip
            accepted, disclosed = False, None
        purge = None if self.retention is None else _ms(now + self.retention)
        with self.session() as session, session.begin():
            SqlSessionStore(session).complete(
                row.id,
                accepted=accepted,
                report=json.dumps(report),
                disclosed=disclosed,
                now_ms=_ms(now),
                purge_after_ms=purge,
            )
        return {"status": "accepted" if accepted else "refused"}

    def handle_decline(self, *, state: object, error: str) -> dict[str, Any]:
        """The wallet's error response (§8.5), e.g. `access_denied`: the citizen declined.

        The counter gets its answer at once, a refusal that names no check;
        an unknown or used `state` changes nothing (400/404 as for responses).
        """
        if not isinstance(state, str) or not state:
            raise VPTokenMalformed("the response carries no state")
        with self.session() as session:
            row = SqlSessionStore(session).by_state(state)
        if row.kind != OPENID4VP:
            raise SessionNotFound("no presentation request has this state")
        now = self.clock()
        with self.session() as session, session.begin():
            SqlSessionStore(session).claim(row.id, now_ms=_ms(now))
        code = "presentation.declined"
        report = {
            "accepted": False,
            "failed_check": "consent",
            "error": code,
            "error_description": "the citizen declined to share",
            "wallet_error": error if error.isascii() and len(error) <= 64 else "other",
            "credentials": {},
        }
        self._outcome("openid4vp", False)
        with self.session() as session, session.begin():
            SqlSessionStore(session).complete(
                row.id,
                accepted=False,
                report=json.dumps(report),
                disclosed=None,
                now_ms=_ms(now),
                purge_after_ms=None,
            )
        return {}

    # --- offline presentations -------------------------------------------------------------

    def verify_offline(self, *, session_id: str, qr_text: str, owner: str) -> dict[str, Any]:
        """A presentation shown as a QR by the wallet, bound to the counter's challenge.

        Steps: (1) the QR decodes (else 400, nothing changes); (2) the session
        is the caller's own (else not found) and an offline challenge (else
        `presentation_request.kind_mismatch`); (3) it is taken once; (4) it is
        verified with the same lookups as online presentations: fresh ledger
        evidence while the registry answers, cached copies only when it does
        not (with their own, shorter limit for status lists), and the report
        says which and how old (`evidence`).
        """
        presentation = decode_offline(qr_text)  # (1)
        with self.session() as session:
            row = SqlSessionStore(session).get(session_id)
        if not owner or row.owner != owner:  # (2)
            raise SessionNotFound("no presentation request has this id")
        if row.kind != OFFLINE:
            raise SessionKindMismatch("this presentation request is not an offline challenge")
        query = DCQLQuery.parse(json.loads(row.dcql_query))
        now = self.clock()
        with self.session() as session, session.begin():  # (3)
            SqlSessionStore(session).claim(row.id, now_ms=_ms(now))
        lookups, evidence = self._tracked()  # (4)
        report = verify_presentation(
            presentation,
            expected_aud=row.client_id,
            expected_nonce=row.nonce,
            query=query.credentials[0],
            policy=self.policy,
            lookups=lookups,
            now=now,
        )
        self._outcome("offline", report.accepted)
        failed = report.failed
        body = {
            **report.to_json(),
            "error_description": None if failed is None else failed.message,
            "evidence": evidence().to_json(),
        }
        disclosed = body.pop("disclosed")
        purge = None if self.retention is None else _ms(now + self.retention)
        with self.session() as session, session.begin():
            SqlSessionStore(session).complete(
                row.id,
                accepted=report.accepted,
                report=json.dumps(body),
                disclosed=json.dumps({query.credentials[0].id: [disclosed]}) if disclosed else None,
                now_ms=_ms(now),
                purge_after_ms=purge,
            )
        return self.read_request(row.id, owner=owner)

    # --- personal data at rest (issue 13 item 9) -------------------------------------------

    def purge_expired(self) -> int:
        """Forget claims past retention, or that no counter read within a request lifetime.

        The app runs this on a timer; then the SQLite WAL is checkpointed and
        truncated, which also catches claims a commit's own checkpoint missed.
        """
        unread_ms = int(self.request_lifetime.total_seconds() * 1000)
        now_ms = _ms(self.clock())
        with self.session() as session, session.begin():
            store = SqlSessionStore(session)
            purged = store.purge_expired(now_ms=now_ms, unread_ms=unread_ms)
            store.delete_stale(now_ms=now_ms, keep_ms=SESSION_KEEP_MS)
        scrub_wal(self.engine)
        return purged
