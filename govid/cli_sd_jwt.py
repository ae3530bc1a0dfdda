"""`govid sd-jwt ...`: look inside an SD-JWT, or verify one against an issuer key.

- `decode TOKEN` splits an SD-JWT / SD-JWT+KB (RFC 9901 §4) and shows the issuer
  JWS header and payload, every Disclosure (salt, name, value, digest) and the
  KB-JWT, with `"verified": false` on top: NOTHING is checked but the syntax.
- `verify TOKEN --issuer-key JWK_FILE` runs the RFC 9901 §7.1/§7.3 checks
  (`did.sd_jwt.verify_sd_jwt`) or, with `--vc`, the SD-JWT VC profile on top
  (`verify_sd_jwt_vc`), and prints the Processed SD-JWT Payload. Key Binding is
  required exactly when `--aud` and `--nonce` are given (§7.3 step 1).

A failed check raises a `GovidError`; `govid.cli.main` prints its code and
sentence once and exits 1. `TOKEN` may be `-` to read it from stdin.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from did.encoding import json_loads_strict
from did.errors import InvalidKey, MalformedInput, MalformedJOSE
from did.jose import parse_unverified_jws
from did.keys import PublicKey, public_key_from_jwk
from did.sd_jwt import (
    DEFAULT_SD_ALG,
    UnverifiedSDJWT,
    verify_sd_jwt,
    verify_sd_jwt_vc,
)
from did.sd_jwt.disclosures import HASH_ALGORITHMS
from govid._io import print_json

__all__ = ["app"]

app = typer.Typer(
    no_args_is_help=True,
    help="SD-JWT (RFC 9901) and SD-JWT VC: decode without checking, or verify.",
)

# Not in a spec: the same bound as `did.sd_jwt.serialization.MAX_SD_JWT_LENGTH`,
# applied before reading further from a pipe or a file.
_MAX_INPUT = (1 << 20) + 1

TokenArg = Annotated[
    str,
    typer.Argument(
        help="The SD-JWT or SD-JWT+KB in compact form, or '-' to read it from stdin.",
        show_default=False,
    ),
]

_UNVERIFIED_NOTE = (
    "UNVERIFIED: decoded only; no signature, digest, time or key binding check was made"
)


def _read_token(token: str) -> str:
    text = sys.stdin.read(_MAX_INPUT) if token == "-" else token
    # Whitespace is never part of the compact form (§4); a trailing newline from
    # a file or a pipe is not an error worth reporting.
    return text.strip()


def _decoded_jwt(text: str) -> dict[str, Any]:
    """Header and payload of a compact JWS, parsed strictly but NOT verified."""
    jws = parse_unverified_jws(text)
    payload = json_loads_strict(jws.payload, what="JWT payload", error=MalformedJOSE)
    return {"header": jws.header, "payload": payload}


@app.command()
def decode(token: TokenArg) -> None:
    """Show the parts of an SD-JWT without verifying anything.

    Prints JSON with "verified": false, the issuer JWS header and payload, each
    Disclosure with its salt, claim name (null for an array element), value and
    digest, and the Key Binding JWT if there is one.
    """
    parsed = UnverifiedSDJWT.parse(_read_token(token))
    payload = parsed.unverified_payload
    sd_alg = payload.get("_sd_alg", DEFAULT_SD_ALG)  # §4.1.1 default
    # §4.2.3; the digest is null when `_sd_alg` names a hash govid does not know.
    known = isinstance(sd_alg, str) and sd_alg in HASH_ALGORITHMS
    disclosures = [
        {
            "salt": d.salt,
            "name": d.name,
            "value": d.value,
            "digest": d.digest(sd_alg) if known else None,
            "disclosure": d.encoded,
        }
        for d in parsed.disclosures
    ]
    print_json(
        {
            "verified": False,
            "note": _UNVERIFIED_NOTE,
            "header": parsed.jws.header,
            "payload": payload,
            "disclosures": disclosures,
            "key_binding_jwt": None if parsed.kb_jwt is None else _decoded_jwt(parsed.kb_jwt),
        }
    )


def _issuer_key(path: Path) -> PublicKey:
    """The public key of the JWK in `path`; private members, if any, are ignored."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InvalidKey("the issuer key file cannot be read") from exc
    jwk = json_loads_strict(raw, what="the issuer key file", error=InvalidKey)
    if not isinstance(jwk, dict):
        raise InvalidKey("the issuer key file does not hold a JWK object")
    return public_key_from_jwk(jwk)


def _moment(now: int | None) -> datetime:
    if now is None:
        return datetime.now(UTC)  # the CLI is the edge: it may read the clock
    try:
        return datetime.fromtimestamp(now, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise MalformedInput("--now is not a usable UNIX time") from exc


@app.command()
def verify(
    token: TokenArg,
    issuer_key: Annotated[
        Path,
        typer.Option(
            "--issuer-key",
            metavar="JWK_FILE",
            help="File with the issuer's JWK (of a private JWK only the public part is used).",
            show_default=False,
        ),
    ],
    aud: Annotated[
        str | None,
        typer.Option("--aud", help="Expected KB-JWT audience; requires --nonce and key binding."),
    ] = None,
    nonce: Annotated[
        str | None,
        typer.Option("--nonce", help="Expected KB-JWT nonce; requires --aud and key binding."),
    ] = None,
    now: Annotated[
        int | None,
        typer.Option(
            "--now",
            metavar="UNIX_TIME",
            help="Check times at this moment (seconds since the epoch) instead of the clock.",
        ),
    ] = None,
    vc: Annotated[
        bool,
        typer.Option("--vc", help="Also apply SD-JWT VC rules (typ dc+sd-jwt, vct, iss, ...)."),
    ] = False,
) -> None:
    """Verify an SD-JWT (RFC 9901 §7.1, §7.3) and print its processed claims as JSON.

    Any issuer JWS `typ` is accepted unless --vc is given. With --aud and --nonce a
    Key Binding JWT is required and checked; without them a KB-JWT that is present
    is still verified, apart from its aud and nonce.
    """
    # §7.3 step 1: the verifier's policy decides about Key Binding, and a policy
    # with only one of the two expected values is a mistake of the caller.
    if (aud is None) != (nonce is None):
        raise typer.BadParameter(
            "give --aud and --nonce together, or neither", param_hint="--aud/--nonce"
        )
    key = _issuer_key(issuer_key)
    moment = _moment(now)
    text = _read_token(token)
    if vc:
        claims = verify_sd_jwt_vc(
            text, issuer_key=key, now=moment, expected_aud=aud, expected_nonce=nonce
        ).claims
    else:
        claims = verify_sd_jwt(
            text, issuer_key=key, typ=None, now=moment, expected_aud=aud, expected_nonce=nonce
        ).claims
    print_json(claims)
