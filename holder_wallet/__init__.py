"""govid holder_wallet service."""
