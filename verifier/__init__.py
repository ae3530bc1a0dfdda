"""govid verifier service: the pure engine, OpenID4VP, the counter page.

See docs/verifier.md. Public names of the engine are re-exported here.
"""

from __future__ import annotations

from verifier.engine import CHECKS, verify_presentation
from verifier.policy import TrustPolicy
from verifier.report import CheckOutcome, VerificationReport, run_checks

__all__ = [
    "CHECKS",
    "CheckOutcome",
    "TrustPolicy",
    "VerificationReport",
    "run_checks",
    "verify_presentation",
]
