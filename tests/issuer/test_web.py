"""The agency page: sign in, create an offer (its QR decodes to the offer), find and revoke."""

from __future__ import annotations

import base64
import json
import re

import httpx

from tests.issuer.conftest import CIVIL_CLAIMS, Stack
from tests.issuer.wallet_client import Exchange, new_holder_key, proof_jwt
from tests.qr import decode_qr


def test_agency_page_offer_qr_search_and_revoke(stack: Stack) -> None:
    civil = stack.agencies["civil"]
    assert httpx.get(stack.url + "/agency").status_code == 401
    with httpx.Client(
        base_url=stack.url, auth=(civil.client_id, civil.client_secret), timeout=30
    ) as web:
        page = web.get("/agency")
        assert page.status_code == 200 and "New offer" in page.text
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
        assert csrf is not None
        forged = web.post(
            "/agency/offers",
            data={"credential_configuration_id": "civil_identity", "claims": "{}", "csrf": "0"},
        )
        assert forged.status_code == 403
        bad = web.post(
            "/agency/offers",
            data={
                "credential_configuration_id": "civil_identity",
                "claims": json.dumps({**CIVIL_CLAIMS, "birthdate": "yesterday"}),
                "csrf": csrf[1],
            },
        )
        assert "birthdate" in bad.text and 'role="alert"' in bad.text
        made = web.post(
            "/agency/offers",
            data={
                "credential_configuration_id": "civil_identity",
                "claims": json.dumps(CIVIL_CLAIMS),
                "csrf": csrf[1],
            },
        )
        qr = re.search(r'src="data:image/png;base64,([^"]+)"', made.text)
        tx_code = re.search(r'id="tx-code">(\d+)<', made.text)
        offer_id = re.search(r'id="offer-id">([^<]+)<', made.text)
        assert qr and tx_code and offer_id
        decoded = decode_qr(base64.b64decode(qr[1]))

        with httpx.Client(timeout=30) as http:
            exchange = Exchange.start(decoded, http)
            access = exchange.token(tx_code[1]).json()["access_token"]
            proof = proof_jwt(new_holder_key(), aud=exchange.issuer, nonce=exchange.nonce())
            assert exchange.credential(access, [proof]).status_code == 200

        found = web.get("/agency/credentials", params={"subject": CIVIL_CLAIMS["personal_id"]})
        ids = re.findall(r"/agency/credentials/([^/]+)/revoke", found.text)
        assert len(ids) == 1
        revoked = web.post(
            f"/agency/credentials/{ids[0]}/revoke", data={"csrf": csrf[1]}, follow_redirects=True
        )
        assert '<td class="status">revoked</td>' in revoked.text
        assert offer_id[1] in str(revoked.url)
