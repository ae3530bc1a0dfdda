"""govid verifier service."""
