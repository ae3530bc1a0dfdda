"""The issuer's HTTP adapter: FastAPI routers, one error mapping, the app factory."""
