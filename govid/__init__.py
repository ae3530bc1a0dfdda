"""The `govid` command line and the composition of the services."""
