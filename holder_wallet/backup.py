"""Encrypted backup and restore of a wallet.

The export is a JSON file:

    {"format": "govid-wallet-backup", "version": 1,
     "kdf": {Argon2id parameters and salt}, "ciphertext": base64url(sealed)}

`sealed` is AES-256-GCM under Argon2id(backup passphrase), associated data
`govid-wallet-backup/v1`, over the JSON of every credential, its copies (with
their private holder keys) and the history. A wrong passphrase or an altered
file is `wallet.backup_invalid`; nothing is written.

After a device loss the old copies must stop being accepted: restoring keeps
them working, but the keys they are bound to may be in a thief's hands. The
procedure (docs/wallet.md, "Disowning old keys"): ask each issuer to revoke
the credential (revoking one copy revokes its whole batch) and receive it
again on the new device, with new keys.
"""

from __future__ import annotations

import json
import os
from typing import Any, Final

from did.encoding import b64url_decode, b64url_encode
from did.errors import MalformedInput
from holder_wallet.crypto import KDFParams, Rng, derive_key, open_sealed, seal
from holder_wallet.errors import BackupInvalid
from holder_wallet.store import StoredCopy, StoredCredential, WalletStore

__all__ = ["BACKUP_FORMAT", "export_backup", "import_backup", "read_backup"]

BACKUP_FORMAT: Final = "govid-wallet-backup"
_AAD: Final = b"govid-wallet-backup/v1"
MAX_BACKUP: Final = 64 << 20


def export_backup(
    store: WalletStore, passphrase: str, *, kdf: KDFParams | None = None, rng: Rng = os.urandom
) -> bytes:
    if not passphrase:
        raise ValueError("a backup needs a passphrase")
    payload = {
        "credentials": [
            {
                "id": c.id,
                "created_at": c.created_at,
                "record": c.record,
                "copies": [
                    {"id": k.id, "used": k.used, "created_at": k.created_at, "secret": k.secret}
                    for k in store.copies(c.id)
                ],
            }
            for c in store.credentials()
        ],
        "history": store.history(),
    }
    params = kdf or KDFParams.new(rng)
    sealed = seal(
        derive_key(passphrase, params),
        json.dumps(payload, separators=(",", ":")).encode(),
        aad=_AAD,
        rng=rng,
    )
    document = {
        "format": BACKUP_FORMAT,
        "version": 1,
        "kdf": params.to_json(),
        "ciphertext": b64url_encode(sealed),
    }
    return json.dumps(document, indent=1).encode()


def read_backup(data: bytes, passphrase: str) -> dict[str, Any]:
    """The backup's content; `wallet.backup_invalid` if it is not one or does not open."""
    if len(data) > MAX_BACKUP:
        raise BackupInvalid("the backup file is too large")
    try:
        document = json.loads(data)
    except ValueError as exc:
        raise BackupInvalid("this is not a wallet backup") from exc
    if (
        not isinstance(document, dict)
        or document.get("format") != BACKUP_FORMAT
        or document.get("version") != 1
        or not isinstance(document.get("ciphertext"), str)
    ):
        raise BackupInvalid("this is not a wallet backup")
    params = KDFParams.from_json(document.get("kdf"))
    try:
        sealed = b64url_decode(document["ciphertext"], what="the backup")
        plain = open_sealed(derive_key(passphrase, params), sealed, aad=_AAD)
    except MalformedInput as exc:
        raise BackupInvalid("the backup does not open with this passphrase") from exc
    payload = json.loads(plain)
    if not isinstance(payload, dict):
        raise BackupInvalid("the backup's content is malformed")
    return payload


def import_backup(store: WalletStore, payload: dict[str, Any]) -> int:
    """Add the backup's credentials and history to `store` (the caller commits).

    Credentials already present (same id) are skipped; returns how many were added.
    """
    have = {c.id for c in store.credentials()}
    added = 0
    try:
        for c in payload.get("credentials", []):
            if c["id"] in have:
                continue
            copies = [
                StoredCopy(k["id"], c["id"], int(k["used"]), int(k["created_at"]), k["secret"])
                for k in c["copies"]
            ]
            store.add_credential(
                StoredCredential(c["id"], int(c["created_at"]), c["record"]), copies
            )
            added += 1
        known = {h["id"] for h in store.history()}
        for h in payload.get("history", []):
            if h["id"] not in known:
                entry = {k: v for k, v in h.items() if k not in ("id", "at")}
                store.add_history(h["id"], int(h["at"]), entry)
    except (KeyError, TypeError, ValueError) as exc:
        raise BackupInvalid("the backup's content is malformed") from exc
    return added
