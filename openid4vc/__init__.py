"""OpenID for Verifiable Credentials, written once for the wallet, the issuer and the verifier.

Pure protocol logic (no I/O, no web framework), like `did/` below it:

- `issuance`: OpenID4VCI 1.0 constants and the Credential Offer (§4.1);
- `presentation`: OpenID4VP 1.0 constants (request object, client id prefix,
  response mode, the `openid4vp://` schemes);
- `dcql`: the Digital Credentials Query Language (OpenID4VP 1.0 §6-7):
  one strict parser, the verifier's matching and the wallet's selection;
- `errors`: their leaves of the govid error tree.

It imports only `did/`; the services import it.
"""
