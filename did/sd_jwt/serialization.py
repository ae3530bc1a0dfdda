"""The compact SD-JWT and SD-JWT+KB formats (RFC 9901 §4), parsed strictly.

    <Issuer-signed JWT>~<Disclosure 1>~...~<Disclosure N>~[<KB-JWT>]

Every part between the first and the last tilde is a non-empty Disclosure;
the last part is empty (an SD-JWT) or a compact JWT (an SD-JWT+KB). A missing
final tilde, an empty Disclosure (`~~`) or a last part that is not a JWT is
malformed. Nothing is verified here: the result is `Unverified...`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from did.encoding import json_loads_strict
from did.errors import MalformedJOSE, MalformedSDJWT
from did.jose import UnverifiedJWS, parse_unverified_jws
from did.sd_jwt.disclosures import Disclosure

__all__ = ["MAX_SD_JWT_LENGTH", "UnverifiedSDJWT", "parse_sd_jwt"]

# Not in the spec: a bound so that a hostile request cannot make us hash megabytes.
MAX_SD_JWT_LENGTH: Final = 1 << 20


@dataclass(frozen=True, slots=True)
class UnverifiedSDJWT:
    """An SD-JWT or SD-JWT+KB split into its parts; NOTHING is verified.

    `sd_jwt` is the text up to and including the last tilde: the input of the
    KB-JWT's `sd_hash` (§4.3.1), kept exactly as received.
    """

    issuer_jwt: str
    jws: UnverifiedJWS
    unverified_payload: dict[str, Any]
    disclosures: tuple[Disclosure, ...]
    kb_jwt: str | None
    sd_jwt: str

    @classmethod
    def parse(cls, text: str) -> UnverifiedSDJWT:
        """Split `text` (RFC 9901 §4, §7.1 step 1); raises `sd_jwt.malformed`,
        `sd_jwt.disclosure_malformed` or `jose.malformed`."""
        if not isinstance(text, str):
            raise MalformedSDJWT("an SD-JWT is a string")
        if len(text) > MAX_SD_JWT_LENGTH:
            raise MalformedSDJWT("the SD-JWT is too long")
        cut = text.rfind("~")
        if cut < 0:
            raise MalformedSDJWT("an SD-JWT ends with a tilde or a Key Binding JWT")
        sd_jwt, last = text[: cut + 1], text[cut + 1 :]
        parts = sd_jwt[:-1].split("~")
        issuer_jwt, encoded = parts[0], parts[1:]
        if any(not part for part in encoded):
            raise MalformedSDJWT("an SD-JWT contains an empty disclosure")
        jws = parse_unverified_jws(issuer_jwt)
        payload = json_loads_strict(jws.payload, what="SD-JWT payload", error=MalformedJOSE)
        if not isinstance(payload, dict):
            raise MalformedSDJWT("the SD-JWT payload is not a JSON object")
        kb_jwt: str | None = None
        if last:
            if last.count(".") != 2:
                raise MalformedSDJWT("the part after the last tilde is not a Key Binding JWT")
            kb_jwt = last
        disclosures = tuple(Disclosure.parse(d) for d in encoded)
        return cls(issuer_jwt, jws, payload, disclosures, kb_jwt, sd_jwt)


def parse_sd_jwt(text: str) -> UnverifiedSDJWT:
    """Alias of `UnverifiedSDJWT.parse`."""
    return UnverifiedSDJWT.parse(text)
