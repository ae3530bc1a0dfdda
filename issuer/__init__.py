"""govid issuer service."""
