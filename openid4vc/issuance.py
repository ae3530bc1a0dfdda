"""OpenID4VCI 1.0 on both sides: names, the Credential Offer and its link, well-known URLs.

Section numbers are OpenID for Verifiable Credential Issuance 1.0's. The
issuer writes offers and links with `CredentialOffer.to_json` and
`offer_link`; the wallet reads them with `CredentialOffer.parse` and
`parse_offer_uri`, so the two cannot drift apart (tests round-trip them).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import parse_qs, quote, urlsplit

from openid4vc.errors import OfferInvalid

__all__ = [
    "AUTHORIZATION_DETAILS_TYPE",
    "ISSUER_METADATA_SUFFIX",
    "MAX_OFFER_URI_LENGTH",
    "OFFER_SCHEME",
    "PRE_AUTHORIZED_GRANT",
    "PROOF_TYP",
    "SD_JWT_VC_FORMAT",
    "CredentialOffer",
    "is_offer_scheme",
    "offer_link",
    "parse_offer_uri",
    "well_known_url",
]

MAX_OFFER_URI_LENGTH: Final = 8192

# §4.1: "openid-credential-offer://" is the custom scheme of an offer link; the
# wallet also takes an https link carrying the same parameters.
OFFER_SCHEME: Final = "openid-credential-offer://"
PRE_AUTHORIZED_GRANT: Final = "urn:ietf:params:oauth:grant-type:pre-authorized_code"  # §3.5
PROOF_TYP: Final = "openid4vci-proof+jwt"  # Appendix F.1
AUTHORIZATION_DETAILS_TYPE: Final = "openid_credential"  # §5.1.1
ISSUER_METADATA_SUFFIX: Final = "openid-credential-issuer"  # §12.2.2
SD_JWT_VC_FORMAT: Final = "dc+sd-jwt"  # Appendix A.3


def is_offer_scheme(scheme: str) -> bool:
    """True for the scheme part (`urlsplit(...).scheme`) of `OFFER_SCHEME`."""
    return scheme + "://" == OFFER_SCHEME


@dataclass(frozen=True, slots=True)
class CredentialOffer:
    """A Credential Offer (§4.1.1). Only the pre-authorized code grant is modelled;
    `pre_authorized_code` is None when the offer carries no such grant."""

    credential_issuer: str
    configuration_ids: tuple[str, ...]
    pre_authorized_code: str | None
    tx_code: Mapping[str, Any] | None = None
    authorization_server: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "credential_issuer": self.credential_issuer,
            "credential_configuration_ids": list(self.configuration_ids),
        }
        if self.pre_authorized_code is not None:
            grant: dict[str, Any] = {"pre-authorized_code": self.pre_authorized_code}
            if self.tx_code is not None:
                grant["tx_code"] = dict(self.tx_code)
            if self.authorization_server is not None:
                grant["authorization_server"] = self.authorization_server
            out["grants"] = {PRE_AUTHORIZED_GRANT: grant}
        return out

    @classmethod
    def parse(cls, obj: object) -> CredentialOffer:
        """Parse an offer object; raise `oid4vci.offer_invalid`."""
        if not isinstance(obj, dict):
            raise OfferInvalid("the credential offer is not a JSON object")
        issuer, ids = obj.get("credential_issuer"), obj.get("credential_configuration_ids")
        if not isinstance(issuer, str) or not issuer:
            raise OfferInvalid("the credential offer names no credential issuer")
        if (
            not isinstance(ids, list)
            or not ids
            or not all(isinstance(i, str) and i for i in ids)
            or len(set(ids)) != len(ids)
        ):
            raise OfferInvalid("the credential offer lists no credential configurations")
        grants = obj.get("grants")
        if grants is not None and not isinstance(grants, dict):
            raise OfferInvalid("the credential offer's grants is not an object")
        grant = (grants or {}).get(PRE_AUTHORIZED_GRANT)
        if grant is None:
            return cls(issuer, tuple(ids), None)
        if not isinstance(grant, dict):
            raise OfferInvalid("the credential offer's pre-authorized grant is not an object")
        code = grant.get("pre-authorized_code")
        if not isinstance(code, str) or not code:
            raise OfferInvalid("the credential offer's pre-authorized code is missing")
        tx_code = grant.get("tx_code")
        if tx_code is not None and not isinstance(tx_code, dict):
            raise OfferInvalid("the credential offer's tx_code is not an object")
        server = grant.get("authorization_server")
        if server is not None and not isinstance(server, str):
            raise OfferInvalid("the credential offer's authorization_server is not a string")
        return cls(issuer, tuple(ids), code, tx_code, server)


def offer_link(credential_offer_uri: str) -> str:
    """The offer by reference (§4.1.3): what the QR code carries."""
    return f"{OFFER_SCHEME}?credential_offer_uri={quote(credential_offer_uri, safe='')}"


def parse_offer_uri(uri: str) -> tuple[str | None, dict[str, Any] | None]:
    """`(credential_offer_uri, None)` or `(None, credential_offer)` from an offer link (§4.1).

    Takes `openid-credential-offer://` links and https links with the same parameters.
    """
    if not isinstance(uri, str) or len(uri) > MAX_OFFER_URI_LENGTH:
        raise OfferInvalid("this is not a credential offer")
    parts = urlsplit(uri.strip())
    if not (is_offer_scheme(parts.scheme) or parts.scheme in ("https", "http")) or parts.fragment:
        raise OfferInvalid("this is not a credential offer")
    query = parse_qs(parts.query, keep_blank_values=True)
    by_ref, by_value = query.get("credential_offer_uri"), query.get("credential_offer")
    # §4.1: exactly one of the two parameters, each at most once.
    if (by_ref is None) == (by_value is None) or len(by_ref or by_value or []) != 1:
        raise OfferInvalid("a credential offer carries exactly one offer or offer URI")
    if by_ref is not None:
        return by_ref[0], None
    assert by_value is not None
    try:
        value = json.loads(by_value[0])
    except ValueError as exc:
        raise OfferInvalid("the credential offer is not JSON") from exc
    if not isinstance(value, dict):
        raise OfferInvalid("the credential offer is not a JSON object")
    return None, value


def well_known_url(identifier: str, suffix: str) -> str:
    """The well-known URL for `identifier`: suffix inserted between host and path (§12.2.2,
    RFC 8414 §3.1)."""
    parts = urlsplit(identifier)
    if parts.query or parts.fragment:
        raise OfferInvalid("an issuer identifier has no query or fragment")
    path = parts.path.rstrip("/")
    return f"{parts.scheme}://{parts.netloc}/.well-known/{suffix}{path}"
