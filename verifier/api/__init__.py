"""The verifier's HTTP adapter: routers, request models, one error mapping."""
