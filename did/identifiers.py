"""DIDs and DID URLs, exactly as the ABNF of W3C DID Core 1.0 §3.1 and §3.2 allows.

A `DID` or `DIDURL` value exists only if its text matched the grammar, so code
holding one never re-checks it. Both print back to the exact text they were
parsed from (`str(DID.parse(s)) == s`); nothing is normalised, because a DID
is compared as a string (DID Core §3.2.1 does not define case folding or
percent-decoding for comparison).

The only relative DID URL govid accepts is a fragment-only reference
(`#key-1`), resolved against a base DID (DID Core §3.2.2); path- and
query-relative references are refused rather than half-supported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from did.errors import InvalidDID, InvalidDIDURL

# DID Core §3.1:
#   did                = "did:" method-name ":" method-specific-id
#   method-name        = 1*method-char
#   method-char        = %x61-7A / DIGIT
#   method-specific-id = *( *idchar ":" ) 1*idchar
#   idchar             = ALPHA / DIGIT / "." / "-" / "_" / pct-encoded
#   pct-encoded        = "%" HEXDIG HEXDIG
_PCT: Final = r"%[0-9A-Fa-f]{2}"
_IDCHAR: Final = rf"(?:[A-Za-z0-9._-]|{_PCT})"
_METHOD: Final = r"[a-z0-9]+"
_MSID: Final = rf"(?:{_IDCHAR}*:)*{_IDCHAR}+"
_DID: Final = rf"did:(?P<method>{_METHOD}):(?P<msid>{_MSID})"

# DID Core §3.2 takes path-abempty, query and fragment from RFC 3986 §3.3-3.5:
#   path-abempty = *( "/" segment ), segment = *pchar
#   pchar        = unreserved / pct-encoded / sub-delims / ":" / "@"
#   query        = *( pchar / "/" / "?" ), fragment = *( pchar / "/" / "?" )
_PCHAR: Final = rf"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|{_PCT})"
_PATH: Final = rf"(?:/{_PCHAR}*)*"
_QUERY: Final = rf"(?:{_PCHAR}|[/?])*"

DID_RE: Final = re.compile(_DID)
DID_URL_RE: Final = re.compile(
    rf"{_DID}(?P<path>{_PATH})(?:\?(?P<query>{_QUERY}))?(?:#(?P<fragment>{_QUERY}))?"
)
_FRAGMENT_RE: Final = re.compile(_QUERY)

# Not in the spec: bounds so that a hostile request cannot make us regex-scan
# megabytes. A did:jwk of a P-384 key is about 250 characters.
MAX_DID_LENGTH: Final = 2048
MAX_DID_URL_LENGTH: Final = 4096


@dataclass(frozen=True, slots=True)
class DID:
    """A syntactically valid DID. Build it with `DID.parse`, never by hand."""

    method: str
    method_specific_id: str

    @classmethod
    def parse(cls, text: str) -> DID:
        """Parse `text` as a DID (DID Core §3.1); raise `InvalidDID` otherwise.

        A DID URL (with a path, query or fragment) is not a DID and is refused.
        """
        if not isinstance(text, str):
            raise InvalidDID("a DID must be a string")
        if len(text) > MAX_DID_LENGTH:
            raise InvalidDID(f"a DID is at most {MAX_DID_LENGTH} characters")
        match = DID_RE.fullmatch(text)
        if match is None:
            # The input is not echoed back: it may be personal data.
            raise InvalidDID("not a DID; expected did:<method>:<method-specific-id>")
        return cls(match["method"], match["msid"])

    def __str__(self) -> str:
        return f"did:{self.method}:{self.method_specific_id}"

    def with_fragment(self, fragment: str) -> DIDURL:
        """The DID URL `<this DID>#<fragment>`; raise `InvalidDIDURL` on a bad fragment."""
        return DIDURL(self, "", None, None).with_fragment(fragment)


@dataclass(frozen=True, slots=True)
class DIDURL:
    """A syntactically valid, absolute DID URL (DID Core §3.2).

    `path` is the path-abempty ("" or "/..."); `query` and `fragment` are None
    when absent and may be "" when present but empty (`did:ex:1#`).
    """

    did: DID
    path: str = ""
    query: str | None = None
    fragment: str | None = None

    @classmethod
    def parse(cls, text: str, *, base: DID | None = None) -> DIDURL:
        """Parse an absolute DID URL, or a `#fragment` reference when `base` is given.

        Raises `InvalidDIDURL` for anything else, including a fragment-only
        reference without a base and other relative references.
        """
        if not isinstance(text, str):
            raise InvalidDIDURL("a DID URL must be a string")
        if len(text) > MAX_DID_URL_LENGTH:
            raise InvalidDIDURL(f"a DID URL is at most {MAX_DID_URL_LENGTH} characters")
        if text.startswith("#"):
            # DID Core §3.2.2: a relative reference is resolved against the
            # DID of the document it appears in.
            if base is None:
                raise InvalidDIDURL("a relative DID URL needs a base DID")
            return base.with_fragment(text[1:])
        match = DID_URL_RE.fullmatch(text)
        if match is None:
            raise InvalidDIDURL("not a DID URL; expected did:<method>:<id>[/path][?query][#frag]")
        did = DID(match["method"], match["msid"])
        if len(str(did)) > MAX_DID_LENGTH:
            raise InvalidDIDURL(f"the DID in a DID URL is at most {MAX_DID_LENGTH} characters")
        return cls(did, match["path"], match["query"], match["fragment"])

    @staticmethod
    def is_relative(text: str) -> bool:
        """True when `text` is a fragment-only reference (`#key-1`), the one relative form."""
        return text.startswith("#")

    def with_fragment(self, fragment: str) -> DIDURL:
        """This DID URL with its fragment replaced; raise `InvalidDIDURL` on a bad fragment."""
        if _FRAGMENT_RE.fullmatch(fragment) is None:
            raise InvalidDIDURL("not a valid DID URL fragment")
        url = DIDURL(self.did, self.path, self.query, fragment)
        if len(str(url)) > MAX_DID_URL_LENGTH:
            raise InvalidDIDURL(f"a DID URL is at most {MAX_DID_URL_LENGTH} characters")
        return url

    def relative_to(self, base: DID) -> str:
        """`#fragment` when this URL is `base` plus a fragment only, else the absolute text."""
        if self.did == base and not self.path and self.query is None and self.fragment:
            return f"#{self.fragment}"
        return str(self)

    @property
    def is_bare_did(self) -> bool:
        """True when the DID URL has no path, query or fragment (it is just the DID)."""
        return not self.path and self.query is None and self.fragment is None

    def __str__(self) -> str:
        text = f"{self.did}{self.path}"
        if self.query is not None:
            text += f"?{self.query}"
        if self.fragment is not None:
            text += f"#{self.fragment}"
        return text
