"""Operator tools run from a checkout: the dependency audit, the long soak, the process stack."""
