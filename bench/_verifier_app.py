"""The verifier as the benchmarks run it: `govid verifier serve` without the access log.

Settings come from the `GOVID_VERIFIER_*` environment exactly as for
`govid verifier serve` (`verifier.settings`); the only difference is that
uvicorn's per-request access log line is off (`log_level="warning"`), as for
`govid registry serve` and the bare endpoints, so that the figures compare
servers doing the same logging (none). `govid verifier serve` logs at `info`.

Run it with `python -m bench._verifier_app --port PORT`.
"""

from __future__ import annotations

import argparse


def main() -> None:
    from fastapi import FastAPI

    from service.serving import serve
    from verifier.api.app import create_app
    from verifier.settings import VerifierSettings, build_context

    parser = argparse.ArgumentParser(prog="python -m bench._verifier_app")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--fd", type=int, default=None, help="an inherited listening socket")
    args = parser.parse_args()
    settings = VerifierSettings()  # from the environment
    app: FastAPI = create_app(build_context(settings))

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    # The same uvicorn configuration as a govid server (service/serving.py).
    serve(app, host=args.host, port=args.port, service="bench", fd=args.fd)


if __name__ == "__main__":
    main()
