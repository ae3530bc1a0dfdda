"""What every govid service shares and none owns.

HTTP limits and their error bodies, exception handlers and the one
error-code -> HTTP status table, observability, settings loading, the
database engine and migration runner, the bounded outgoing fetch, caches
and OAuth client credentials. It sits below the services (`registry/`'s
server, `issuer/`, `verifier/`, `holder_wallet/`) and above `did/`; it never
imports a service or `registry/`.
"""
