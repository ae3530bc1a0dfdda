"""govid registry service."""
