"""The wallet as the CLI and the web app use it: one object over vault, store and clients.

Every method opens its own database transaction; receiving writes all copies
of all credentials of an offer in one transaction, after every check passed,
so a crash mid-receipt leaves either nothing or everything.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlmodel import Session

from holder_wallet import backup as _backup
from holder_wallet.crypto import KDFParams
from holder_wallet.keys import holder_key_from_secret
from holder_wallet.ledger import Ledger, RegistryLedger
from holder_wallet.offline import offline_presentation, parse_challenge, qr_png
from holder_wallet.present import ConsentRequest, PresentationClient, build_consent, build_vp_token
from holder_wallet.receive import IssuanceClient, OfferPreview, ReceivedCredential
from holder_wallet.settings import WalletSettings
from holder_wallet.status import check_status, combine
from holder_wallet.store import StoredCopy, StoredCredential, WalletStore, open_engine
from holder_wallet.vault import Vault
from service.fetch import Fetcher, FetchPolicy

__all__ = ["Wallet", "summary"]


def summary(credential: StoredCredential) -> dict[str, Any]:
    """What `govid wallet list --json` prints for one credential."""
    record = credential.record
    display = record.get("display", {})
    return {
        "id": credential.id,
        "name": display.get("name"),
        "issuer": display.get("issuer_name"),
        "issuer_did": record.get("iss"),
        "vct": record.get("vct"),
        "status": record.get("status", "unknown"),
        "copies": credential.copies,
        "received_at": credential.created_at,
        "expires_at": record.get("exp"),
        "claims": record.get("claims", {}),
    }


class Wallet:
    def __init__(
        self,
        settings: WalletSettings,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        http: httpx.Client | None = None,
        ledger: Ledger | None = None,
        new_id: Callable[[], str] = lambda: secrets.token_urlsafe(12),
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.engine = open_engine(settings.dir)
        self.vault = Vault(self.engine, clock=clock, idle_timeout=settings.idle_timeout)
        # Issuers and verifiers are whoever an offer or a QR code names: the
        # untrusted policy (https to public addresses; loopback http only when
        # the development stack's settings ask for it).
        policy = FetchPolicy.untrusted(allow_loopback_http=settings.allow_loopback_http)
        self.fetch = Fetcher(policy, client=http)
        self._ledger = ledger
        self._new_id = new_id

    def close(self) -> None:
        self.fetch.close()
        if isinstance(self._ledger, RegistryLedger):
            self._ledger.close()
        self.engine.dispose()

    def __enter__(self) -> Wallet:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @property
    def ledger(self) -> Ledger:
        if self._ledger is None:
            trust = self.settings.ledger_trust()  # raises when no registry is configured
            self._ledger = RegistryLedger(
                str(self.settings.registry_url), trust=trust, clock=self.clock
            )
        return self._ledger

    # --- vault ----------------------------------------------------------------------------

    def init(self, passphrase: str, *, kdf: KDFParams | None = None) -> None:
        self.vault.create(passphrase, kdf=kdf)

    def unlock(self, passphrase: str) -> None:
        self.vault.unlock(passphrase)

    def lock(self) -> None:
        self.vault.lock()

    def _session(self) -> Session:
        return Session(self.engine)

    def _store(self, session: Session) -> WalletStore:
        return WalletStore(session, self.vault.key())

    # --- credentials ----------------------------------------------------------------------

    def credentials(self) -> list[StoredCredential]:
        with self._session() as session:
            return self._store(session).credentials()

    def credential(self, credential_id: str) -> StoredCredential:
        with self._session() as session:
            return self._store(session).credential(credential_id)

    def delete(self, credential_id: str) -> None:
        with self._session() as session:
            self._store(session).delete_credential(credential_id)
            session.commit()

    # --- receiving (OpenID4VCI) -----------------------------------------------------------

    def _issuance(self) -> IssuanceClient:
        return IssuanceClient(
            self.fetch, ledger=self.ledger, clock=self.clock, batch_size=self.settings.batch_size
        )

    def preview_offer(self, offer_uri: str) -> OfferPreview:
        self.vault.key()  # a locked wallet does not talk to issuers
        return self._issuance().preview(offer_uri)

    def redeem(self, preview: OfferPreview, tx_code: str | None) -> list[ReceivedCredential]:
        self.vault.key()
        return self._issuance().redeem(preview, tx_code)

    def accept(self, received: Sequence[ReceivedCredential]) -> list[str]:
        """Store verified credentials, all in one transaction."""
        now = int(self.clock().timestamp())
        ids = []
        with self._session() as session:
            store = self._store(session)
            for item in received:
                cid = self._new_id()
                copies = [StoredCopy(self._new_id(), cid, 0, now, dict(c)) for c in item.copies]
                store.add_credential(StoredCredential(cid, now, dict(item.record)), copies)
                ids.append(cid)
            session.commit()
        return ids

    def receive(self, offer_uri: str, tx_code: str | None) -> list[str]:
        """Preview, redeem and accept in one go (the command line)."""
        return self.accept(self.redeem(self.preview_offer(offer_uri), tx_code))

    # --- presenting (OpenID4VP) -----------------------------------------------------------

    def _presentation(self) -> PresentationClient:
        return PresentationClient(self.fetch, ledger=self.ledger, clock=self.clock)

    def prepare(self, request_uri: str) -> ConsentRequest:
        """Fetch and verify the request and build the consent; nothing is sent."""
        self.vault.key()
        request = self._presentation().fetch(request_uri)
        stored = [(c.id, c.record) for c in self.credentials()]
        return build_consent(request, stored)

    def approve(self, consent: ConsentRequest) -> dict[str, Any]:
        """Send what the consent lists, record it in the history, mark the copies used."""
        now = self.clock()
        with self._session() as session:
            store = self._store(session)
            chosen: dict[str, tuple[str, Any]] = {}
            used = []
            for item in consent.items:
                if item.credential_id is None:
                    continue
                copy = store.freshest_copy(item.credential_id)
                chosen[item.query_id] = (
                    copy.sd_jwt,
                    holder_key_from_secret(copy.secret["holder_jwk"]),
                )
                used.append(copy.id)
        vp_token = build_vp_token(consent, chosen, now=now)
        answer: dict[str, Any] = {}
        outcome = "sent"
        try:
            answer = self._presentation().submit(consent.request, vp_token)
        except Exception:
            outcome = "failed"
            raise
        finally:
            with self._session() as session:
                store = self._store(session)
                for copy_id in used:
                    store.mark_used(copy_id)
                store.add_history(
                    self._new_id(), int(now.timestamp()), _history(consent, outcome, answer)
                )
                session.commit()
        return answer

    def decline(self, consent: ConsentRequest) -> None:
        self._presentation().decline(consent.request)
        now = int(self.clock().timestamp())
        with self._session() as session:
            self._store(session).add_history(self._new_id(), now, _history(consent, "declined", {}))
            session.commit()

    def history(self) -> list[dict[str, Any]]:
        with self._session() as session:
            return self._store(session).history()

    # --- offline QR -----------------------------------------------------------------------

    def offline_qr(
        self, credential_id: str, challenge: str, *, claims: Sequence[Sequence[str | int]] = ()
    ) -> tuple[str, bytes]:
        parsed = parse_challenge(challenge)
        now = self.clock()
        with self._session() as session:
            store = self._store(session)
            credential = store.credential(credential_id)
            copy = store.freshest_copy(credential_id)
            text = offline_presentation(
                copy.sd_jwt,
                holder_key=holder_key_from_secret(copy.secret["holder_jwk"]),
                challenge=parsed,
                disclose=claims,
                now=now,
            )
            png = qr_png(text)
            store.mark_used(copy.id)
            store.add_history(
                self._new_id(),
                int(now.timestamp()),
                {
                    "kind": "offline",
                    "verifier": parsed.aud,
                    "credentials": [credential.record.get("display", {}).get("name")],
                    "claims": [".".join(str(p) for p in c) for c in claims],
                    "outcome": "shown",
                },
            )
            session.commit()
        return text, png

    # --- status ---------------------------------------------------------------------------

    def refresh_status(self) -> dict[str, str]:
        """Check every credential's status lists on the ledger and store the result."""
        now = self.clock()
        out: dict[str, str] = {}
        with self._session() as session:
            store = self._store(session)
            for credential in store.credentials():
                iss = str(credential.record.get("iss"))
                states = [
                    check_status(c.secret.get("status"), iss=iss, ledger=self.ledger, now=now)
                    for c in store.copies(credential.id)
                ]
                credential.record["status"] = combine(states)
                credential.record["status_checked_at"] = int(now.timestamp())
                store.update_record(credential)
                out[credential.id] = credential.record["status"]
            session.commit()
        return out

    # --- backup ---------------------------------------------------------------------------

    def export_backup(self, passphrase: str, *, kdf: KDFParams | None = None) -> bytes:
        with self._session() as session:
            return _backup.export_backup(self._store(session), passphrase, kdf=kdf)

    def restore(self, data: bytes, passphrase: str) -> int:
        payload = _backup.read_backup(data, passphrase)
        with self._session() as session:
            added = _backup.import_backup(self._store(session), payload)
            session.commit()
        return added


def _history(consent: ConsentRequest, outcome: str, answer: dict[str, Any]) -> dict[str, Any]:
    """Who asked, what was sent (claim labels, not values), and how it ended."""
    return {
        "kind": "openid4vp",
        "verifier": consent.request.verifier_did,
        "verifier_name": consent.request.client_name,
        "credentials": [i.credential_name for i in consent.items if i.credential_id],
        "claims": [c["label"] for i in consent.items for c in i.claims]
        if outcome != "declined"
        else [],
        "asked": [a for i in consent.items for a in i.asked],
        "outcome": outcome,
        "answer": answer.get("status") if isinstance(answer.get("status"), str) else None,
    }
