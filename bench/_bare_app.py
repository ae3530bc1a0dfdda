"""The reference endpoint of the registry benchmarks: parse, verify one signature, answer.

`POST /operations` takes the registry's own body (`{"operation": <compact JWS>}`),
parses it with the same pydantic model shape, and verifies the JWS with
`did.jose.verify_jws` against the Ed25519 key its `kid` names (a Multikey, as
in a `did.create`). Nothing else: no canonical-JSON check, no rules, no
storage. It is what any signed-write endpoint must do at the least, on the same
server (uvicorn, one worker, same settings as `govid registry serve`), so the
registry's appends per second are reported as a fraction of its requests per
second.

Run it with `python -m bench._bare_app --port PORT`.
"""

from __future__ import annotations

import argparse

from fastapi import FastAPI
from pydantic import BaseModel, Field

from did.jose import parse_unverified_jws, verify_jws
from did.keys import from_multikey

OPERATION_TYP = "govid-op+jws"  # registry.operations.OPERATION_TYP, not imported on purpose

app = FastAPI(title="bare signed-write endpoint (benchmark reference)")


class OperationIn(BaseModel):
    operation: str = Field(description="A compact JWS.")


class Verified(BaseModel):
    kid: str
    payloadBytes: int  # noqa: N815 - JSON field name


@app.post("/operations", status_code=201, response_model=Verified)
async def post_operation(body: OperationIn) -> Verified:
    """Verify one Ed25519 JWS signature on the event loop (as the route would, unbatched)."""
    jws = parse_unverified_jws(body.operation)
    kid = str(jws.header.get("kid", ""))
    verified = verify_jws(jws, from_multikey(kid), typ=OPERATION_TYP, algs=("EdDSA",))
    return Verified(kid=kid, payloadBytes=len(verified.payload))


@app.get("/healthz", include_in_schema=False)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


def main() -> None:
    from service.serving import serve

    parser = argparse.ArgumentParser(prog="python -m bench._bare_app")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--fd", type=int, default=None, help="an inherited listening socket")
    args = parser.parse_args()
    # The settings of `govid registry serve` (govid/cli_registry.py, through
    # service/serving.py): one worker, no access log.
    serve(app, host=args.host, port=args.port, service="bench", fd=args.fd)


if __name__ == "__main__":
    main()
