"""The reference endpoint of the HTTP verification figures: the signature checks and nothing else.

`POST /api/verify` takes the verifier's own body (`presentation`, `aud`,
`nonce`) with the same pydantic limits and does, on the event loop, exactly
the cryptography and parsing that an SD-JWT+KB check cannot avoid:

1. split the presentation; decode the issuer JWS header and payload (JSON);
2. verify the issuer signature with the issuer key, known in advance
   (`GOVID_BENCH_ISSUER_JWK`, a public JWK: a bare endpoint has no ledger);
3. SHA-256 each disclosure and find its digest in the payload's `_sd`;
4. build the holder key from `cnf.jwk`, verify the KB-JWT signature, and
   compare its `aud`, `nonce` and `sd_hash`.

No DID chain replay, no accreditation, no status list, no ledger proof, no
authentication, no database: that is what the verifier does beyond this, and
what the ratio prices. Same server settings as the verifier run by the suite
(uvicorn, one worker, no access log).

Run it with `python -m bench._bare_verify_app --port PORT`.
"""

from __future__ import annotations

import argparse
import base64
import functools
import hashlib
import json
import os
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field

app = FastAPI(title="bare SD-JWT+KB signature checks (benchmark reference)")
_ECDSA = ec.ECDSA(hashes.SHA256())


def _b64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _public_key(jwk: dict[str, Any]) -> ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey:
    if jwk.get("kty") == "OKP":
        return ed25519.Ed25519PublicKey.from_public_bytes(_b64(jwk["x"]))
    numbers = ec.EllipticCurvePublicNumbers(
        int.from_bytes(_b64(jwk["x"]), "big"), int.from_bytes(_b64(jwk["y"]), "big"), ec.SECP256R1()
    )
    return numbers.public_key()


def _check(key: ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey, jws: str) -> dict[str, Any]:
    head, _, sig_b64 = jws.rpartition(".")
    signature = _b64(sig_b64)
    data = head.encode("ascii")
    try:
        if isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, data)
        else:
            r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
            key.verify(encode_dss_signature(r, s), data, _ECDSA)
    except InvalidSignature as exc:
        raise HTTPException(422, "signature") from exc
    payload: dict[str, Any] = json.loads(_b64(head.partition(".")[2]))
    return payload


@functools.cache
def _issuer() -> ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey:
    return _public_key(json.loads(os.environ["GOVID_BENCH_ISSUER_JWK"]))


class VerifyIn(BaseModel):  # the verifier's body, the same limits
    presentation: str = Field(max_length=1 << 20)
    aud: str = Field(max_length=2048)
    nonce: str = Field(max_length=256)
    template: str | None = Field(default=None, max_length=64)


@app.post("/api/verify")
async def verify(body: VerifyIn) -> dict[str, Any]:
    *parts, kb_jwt = body.presentation.split("~")
    issuer_jwt, disclosures = parts[0], parts[1:]
    payload = _check(_issuer(), issuer_jwt)
    digests = set(payload.get("_sd", ()))
    claims: dict[str, Any] = {}
    for disclosure in disclosures:
        digest = base64.urlsafe_b64encode(hashlib.sha256(disclosure.encode()).digest())
        if digest.rstrip(b"=").decode() not in digests:
            raise HTTPException(422, "digest")
        _, name, value = json.loads(_b64(disclosure))
        claims[name] = value
    kb = _check(_public_key(payload["cnf"]["jwk"]), kb_jwt)
    sd_jwt = body.presentation[: len(body.presentation) - len(kb_jwt)]
    sd_hash = base64.urlsafe_b64encode(hashlib.sha256(sd_jwt.encode()).digest()).rstrip(b"=")
    if (
        kb.get("aud") != body.aud
        or kb.get("nonce") != body.nonce
        or kb.get("sd_hash") != (sd_hash.decode())
    ):
        raise HTTPException(422, "key binding")
    return {"accepted": True, "claims": claims}


@app.get("/healthz", include_in_schema=False)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


def main() -> None:
    from service.serving import serve

    parser = argparse.ArgumentParser(prog="python -m bench._bare_verify_app")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--fd", type=int, default=None, help="an inherited listening socket")
    args = parser.parse_args()
    # The same uvicorn configuration as a govid server (service/serving.py).
    serve(app, host=args.host, port=args.port, service="bench", fd=args.fd)


if __name__ == "__main__":
    main()
