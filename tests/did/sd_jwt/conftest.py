"""Fixtures for the SD-JWT tests: the RFC 9901 example keys, read from the vectors."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from did.keys import PrivateKey, PublicKey, private_key_from_jwk


@dataclass(frozen=True)
class ExampleKeys:
    issuer: PrivateKey
    holder: PrivateKey

    @property
    def issuer_public(self) -> PublicKey:
        return self.issuer.public_key()

    @property
    def holder_public(self) -> PublicKey:
        return self.holder.public_key()


@pytest.fixture
def rfc_keys(vector: Callable[[str], Any]) -> ExampleKeys:
    """The issuer and holder keys of every RFC 9901 / SD-JWT VC example (P-256)."""
    keys = vector("sd-jwt/rfc9901-draft22/keys.json")
    return ExampleKeys(private_key_from_jwk(keys["issuer"]), private_key_from_jwk(keys["holder"]))
