"""The wallet web app refuses to be framed (issue 13 item 13): its unlock page first."""

from __future__ import annotations

import httpx

from holder_wallet.api.app import create_app
from holder_wallet.wallet import Wallet
from tests.servers import serve


def test_every_wallet_page_refuses_framing(wallet: Wallet) -> None:
    with serve(create_app(wallet)) as url:
        for path in ("/unlock", "/", "/receive"):
            answer = httpx.get(url + path)
            assert "frame-ancestors 'none'" in answer.headers["content-security-policy"], path
            assert answer.headers["x-frame-options"] == "DENY", path
