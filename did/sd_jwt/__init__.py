"""Selective Disclosure for JWTs (RFC 9901) and SD-JWT VC, govid's own implementation.

- `issuance`: `issue_sd_jwt` with claim paths marking what is selectively disclosable;
- `disclosures`: the Disclosure format and digests (§4.2);
- `serialization`: the compact `~` format parsed strictly (§4);
- `presentation`: the holder's choice of Disclosures and the KB-JWT (§7.2);
- `key_binding`: KB-JWT creation and checks (§4.3, §7.3);
- `verification`: §7.1/§7.3 verification into processed claims;
- `vc`: the SD-JWT VC profile (`dc+sd-jwt`, `vct`, non-disclosable registered claims).
"""

from __future__ import annotations

from did.sd_jwt._processing import DisclosedClaim, process_payload
from did.sd_jwt.disclosures import (
    DEFAULT_SD_ALG,
    ClaimPath,
    Disclosure,
    compact_json,
    random_salt,
    rfc_example_json,
    sd_digest,
)
from did.sd_jwt.issuance import IssuedSDJWT, issue_sd_jwt
from did.sd_jwt.key_binding import (
    DEFAULT_KB_MAX_AGE,
    KB_JWT_TYP,
    create_kb_jwt,
    holder_key_from_cnf,
    verify_kb_jwt,
)
from did.sd_jwt.presentation import (
    Selection,
    disclosure_map,
    present_sd_jwt,
    select_disclosures,
)
from did.sd_jwt.serialization import UnverifiedSDJWT, parse_sd_jwt
from did.sd_jwt.vc import (
    GOVID_NON_DISCLOSABLE,
    LEGACY_VC_TYP,
    NON_DISCLOSABLE,
    VC_TYP,
    VerifiedSDJWTVC,
    issue_sd_jwt_vc,
    verify_sd_jwt_vc,
)
from did.sd_jwt.verification import (
    IssuerKey,
    VerifiedSDJWT,
    verify_issued_sd_jwt,
    verify_sd_jwt,
)

__all__ = [
    "ClaimPath",
    "DEFAULT_KB_MAX_AGE",
    "DEFAULT_SD_ALG",
    "DisclosedClaim",
    "Disclosure",
    "GOVID_NON_DISCLOSABLE",
    "IssuedSDJWT",
    "IssuerKey",
    "KB_JWT_TYP",
    "LEGACY_VC_TYP",
    "NON_DISCLOSABLE",
    "Selection",
    "UnverifiedSDJWT",
    "VC_TYP",
    "VerifiedSDJWT",
    "VerifiedSDJWTVC",
    "compact_json",
    "create_kb_jwt",
    "disclosure_map",
    "holder_key_from_cnf",
    "issue_sd_jwt",
    "issue_sd_jwt_vc",
    "parse_sd_jwt",
    "present_sd_jwt",
    "process_payload",
    "random_salt",
    "rfc_example_json",
    "sd_digest",
    "select_disclosures",
    "verify_issued_sd_jwt",
    "verify_kb_jwt",
    "verify_sd_jwt",
    "verify_sd_jwt_vc",
]
