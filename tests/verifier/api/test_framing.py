"""The counter's pages refuse to be framed (issue 13 item 13), whatever the answer."""

from __future__ import annotations

import httpx

from tests.verifier.api.test_presentations import Verifier, verifier

__all__ = ["verifier"]  # the fixture, shared with test_presentations


def test_every_counter_page_refuses_framing(verifier: Verifier) -> None:
    for path in ("/", "/counter/unknown", "/openid4vp/request/unknown"):
        answer = httpx.get(verifier.url + path)
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"], path
        assert answer.headers["x-frame-options"] == "DENY", path
