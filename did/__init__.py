"""govid's pure identity core: identifiers, keys, DID documents, JOSE, SD-JWT, status lists.

Nothing in this package performs I/O except through what the caller passes in
(a `WebFetch` for did:web, a clock as `now`, randomness as `rng`); it imports
no HTTP client.
"""
