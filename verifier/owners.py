"""Who owns a presentation session: the principal that created it, and alone may read it.

Two kinds of principal create sessions: an API client (OAuth 2.0 client
credentials, RFC 6749 §4.4) and a person signed in to the counter page. Each
kind has its own namespace, so a client id can never pass for a user name.
"""

from __future__ import annotations

from typing import Final

__all__ = ["CLIENT", "USER", "client_owner", "user_owner"]

CLIENT: Final = "client:"
USER: Final = "user:"


def client_owner(client_id: str) -> str:
    return CLIENT + client_id


def user_owner(username: str) -> str:
    return USER + username
