"""After a full scenario, no claim value and no private key is found where it must not be.

The scenario, over HTTP against the real processes: an agency issues a civil
identity to a citizen, the citizen presents it at a counter twice (the
verification API and the OpenID4VP cross-device flow, whose result the
counter reads), the agency revokes it and the list is published.

Then every service log, every ledger entry and every row of every table of
every database (PostgreSQL schema or SQLite files, witnesses included) is
scanned, as raw text and with every base64url run decoded (SD-JWT
disclosures, JWS payloads), for:

- the citizen's claim values (the issuer keeps the offer's claims sealed and
  drops them at issuance; the verifier forgets disclosed claims once the
  counter read them; the ledger carries agencies' data only);
- private key material: every private key of the agency's keyring (opened
  with the KEK), the root authority, the log, the witnesses, the counter and
  the citizen's holder key, plus the KEK and the OAuth client secrets; and
  any JWK private member `"d"` at all.

The wallet's encrypted store is not part of this stack; a sealed column is
scanned too, but it holds ciphertext, so nothing is found in it.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import MetaData, create_engine, select

from did.encoding import b64url_decode
from issuer.keys_at_rest import KEK
from registry.authoring import Keyring
from tests.security.procstack import (
    Stack,
    answer_request,
    citizen_claims,
    credential_ids,
    make_offer,
    open_request,
    present,
    publish_and_wait_accepted,
    receive,
    revoke,
    running_stack,
    verify,
)

pytestmark = pytest.mark.slow

_B64_RUN = re.compile(rb"[A-Za-z0-9_\-+/]{16,}")


def _leaves(value: object) -> Iterator[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    elif isinstance(value, str) and len(value) >= 6:
        yield value


def _with_decoded(blob: bytes) -> bytes:
    """`blob` followed by the decoding of every base64 / base64url run in it."""
    out = [blob]
    for run in _B64_RUN.findall(blob):
        text = run.decode("ascii")
        for candidate in (text, text[1:], text[2:], text[3:]):  # runs may start mid-token
            try:
                out.append(b64url_decode(candidate.replace("+", "-").replace("/", "_")))
                break
            except Exception:  # not base64 at this offset
                continue
    return b"\n".join(out)


def _database_rows(stack: Stack, database_url: str | None) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for db_file in stack.tmp.rglob("*.db"):
        with sqlite3.connect(db_file) as conn:
            tables = [
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            ]
            for table in tables:
                rows = conn.execute(f'SELECT * FROM "{table}"').fetchall()
                found[f"{db_file.name}:{table}"] = _rows_bytes(rows)
    if database_url is not None:
        engine = create_engine(database_url)
        try:
            metadata = MetaData()
            metadata.reflect(engine)
            with engine.connect() as conn:
                for table in metadata.sorted_tables:
                    pg_rows = conn.execute(select(table)).all()
                    found[f"postgresql:{table.name}"] = _rows_bytes([tuple(r) for r in pg_rows])
        finally:
            engine.dispose()
    return found


def _rows_bytes(rows: list[tuple[object, ...]]) -> bytes:
    parts = []
    for row in rows:
        for value in row:
            if isinstance(value, bytes | bytearray | memoryview):
                parts.append(bytes(value))
            else:
                parts.append(str(value).encode("utf-8"))
    return b"\n".join(parts)


def _secrets(stack: Stack, holder_jwk: dict[str, str], database_url: str | None) -> set[str]:
    """Every secret of the deployment, as text."""
    out = {stack.kek, stack.agency["client_secret"], stack.counter["client_secret"]}
    out.add(holder_jwk["d"])
    rdata = stack.tmp / "registry"
    root = Keyring.from_json(json.loads((rdata / "root-keys.json").read_text()))
    counter = Keyring.from_json(
        json.loads((stack.tmp / "verifier" / "counter-keys.json").read_text())
    )
    for ring in (root, counter, _agency_keyring(stack, database_url)):
        for jwk in (*ring.update_keys, *ring.next_keys, *ring.document_keys.values()):
            out.add(jwk["d"])
    for path in (rdata / "log.key", *stack.tmp.glob("witness-*/witness.key")):
        text = path.read_text().strip()
        out.add(text.rsplit("+", 1)[-1])  # a note skey, or a base64 seed
    return {s for s in out if len(s) >= 16}


def _agency_keyring(stack: Stack, database_url: str | None) -> Keyring:
    url = database_url or f"sqlite:///{stack.tmp / 'issuer' / 'issuer.db'}"
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            metadata = MetaData()
            metadata.reflect(engine, only=["issuer_agency"])
            row = conn.execute(select(metadata.tables["issuer_agency"])).mappings().one()
    finally:
        engine.dispose()
    kek = KEK.parse(stack.kek)
    sealed = kek.open(bytes(row["keyring"]), aad=f"agency-keyring:{row['slug']}".encode())
    return Keyring.from_json(json.loads(sealed))


def _variants(secret: str) -> list[bytes]:
    """The secret as text, and as the bytes it encodes when it is base64 (seeds, JWK `d`)."""
    out = [secret.encode()]
    try:
        raw = base64.urlsafe_b64decode(secret.replace("+", "-").replace("/", "_") + "==")
        if len(raw) >= 16:
            out.append(raw)
    except ValueError:
        pass
    return out


def test_no_claim_value_or_private_key_outside_the_wallet(
    tmp_path: Path, stack_database_url: str | None
) -> None:
    with running_stack(tmp_path, stack_database_url) as stack, httpx.Client(timeout=30) as http:
        agency = stack.agency_token(http)
        claims = citizen_claims(7)
        received = receive(http, make_offer(stack, http, agency, claims).json())
        publish_and_wait_accepted(stack, http, received)
        counter = stack.counter_token(http)
        nonce = secrets.token_urlsafe(12)
        checked = verify(stack, http, counter, present(received, nonce), nonce)
        assert checked.json()["accepted"] is True
        opened = open_request(stack, http, counter).json()
        assert answer_request(http, opened, received).response.json() == {"status": "accepted"}
        result = http.get(
            f"{stack.verifier.url}/api/presentation-requests/{opened['id']}",
            headers={"Authorization": f"Bearer {counter}"},
        ).json()
        assert result["disclosed"], "the counter sees the disclosed claims once"
        (credential_id,) = credential_ids(stack, http, agency, received.offer_id)
        assert revoke(stack, http, agency, credential_id).status_code == 200
        publish = http.post(
            stack.issuer.url + "/api/status-lists/publish",
            headers={"Authorization": f"Bearer {agency}"},
        )
        assert publish.status_code == 200

        size = http.get(stack.registry.url + "/readyz").json()["treeSize"]
        entries = http.get(
            stack.registry.url + "/log/entries", params={"start": 0, "end": size}
        ).json()["entries"]
        holder_jwk = _holder_jwk(received.holder)
        places: dict[str, bytes] = {
            f"ledger:{e['index']}": b64url_decode(e["entry"]) for e in entries
        }
        places.update(_database_rows(stack, stack_database_url))
        everything_secret = _secrets(stack, holder_jwk, stack_database_url)
    places.update({f"log:{k}": v.encode() for k, v in stack.logs().items()})

    values = {v.encode() for v in _leaves(claims) if v not in ("1984-03-07",)}
    values.add(claims["birthdate"].encode())
    secret_bytes = {v for s in everything_secret for v in _variants(s)}
    assert len(places) > 10 and values and secret_bytes
    # The scanner sees through the encodings: it finds the values in the credential
    # itself, and the keys in the (mode 0600) key files.
    in_credential = _with_decoded(received.credential.encode())
    assert any(value in in_credential for value in values)
    key_files = _with_decoded((tmp_path / "registry" / "root-keys.json").read_bytes())
    assert any(secret in key_files for secret in secret_bytes)
    for where, blob in places.items():
        scanned = _with_decoded(blob)
        for value in values:
            assert value not in scanned, f"a claim value of the citizen is in {where}"
        for secret in secret_bytes:
            assert secret not in scanned, f"private key material or a secret is in {where}"
        assert b'"d":' not in scanned and b'"d": ' not in scanned, f"a private JWK in {where}"


def _holder_jwk(key: object) -> dict[str, str]:
    from did.keys import jwk_from_private_key

    jwk: dict[str, str] = jwk_from_private_key(key)  # type: ignore[arg-type]
    return jwk
