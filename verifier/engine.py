"""The verification engine: one SD-JWT VC presentation in, a named-checks report out.

Pure: the presentation, the expected `aud` and `nonce`, the query, the trust
policy, the time and a `LedgerLookups` go in; nothing is read from a clock,
a database or the network except through the lookups. Every piece of ledger
evidence the lookups return is unverified until check 7 proves it.

The checks, in the order of ARCHITECTURE.md "Verification":

1. `issuer_signature`: the issuer JWS (`typ dc+sd-jwt`) is signed by the key
   its `kid` names, a key of the `iss` DID (replayed from the DID's ledger
   chain) that was in `assertionMethod` at the credential's `iat` and was
   never marked compromised; the DID is not deactivated (method spec §6.4).
2. `issuer_accredited`: the deployment accepts the `vct`, and the issuer
   holds an `issuer` accreditation for it, granted by the root authority or
   by an accreditor the root accredited (§5.5). Every accreditation on that
   path is never revoked (a revocation withdraws trust whatever `iat` says),
   covers `iat` with its validity, and was granted with a key its accreditor
   has not marked compromised since (§5.5.3, §6.4 step 4).
3. `disclosures`: every Disclosure matches a digest, none duplicated, no
   registered claim disclosed (RFC 9901 §7.1 steps 3-5, SD-JWT VC §2.2.2.3).
4. `validity_window`: `exp`/`nbf`/`iat` at `now` with the policy's skew.
5. `key_binding`: a KB-JWT signed by the `cnf` key with the expected `aud`
   and `nonce`, fresh, and `sd_hash` over what was presented (RFC 9901 §7.3).
6. `status`: the status list the issuer published on the ledger under the
   credential's `uri` (a list is named by issuer and uri, §5.7), declaring
   the credential's `vct`, signed by a valid issuer key, fresh, says VALID
   at the credential's index.
7. `ledger_proof`: every ledger proof used above verifies against a
   checkpoint signed by the log and cosigned by a quorum of the configured
   witnesses, recently enough, and proves exactly the entries relied on.
8. `requested_claims`: the credential answers the query; only the requested
   claims are handed on (nothing else is trusted).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Final

from did.errors import (
    AlgorithmNotAllowed,
    ClaimMissing,
    ClaimNotDisclosable,
    DIDDeactivated,
    GovidError,
    HashAlgorithmUnsupported,
    IssuerMissing,
    KeyBindingMissing,
    SignatureInvalid,
    VCTMissing,
    VCTypeInvalid,
)
from did.jose import UnverifiedJWS, normalise_typ, parse_unverified_jws, verify_jws
from did.keys import PublicKey, from_multikey
from did.sd_jwt import (
    DEFAULT_SD_ALG,
    NON_DISCLOSABLE,
    VC_TYP,
    UnverifiedSDJWT,
    holder_key_from_cnf,
    process_payload,
    verify_kb_jwt,
)
from did.status_list import StatusReference
from did.status_list_token import check_reference
from did.validity import check_time_claims, numeric_date, numeric_date_in_window
from openid4vc.dcql import CredentialQuery, match_credential
from registry.errors import ProofMalformed
from registry.operations import (
    STATUS_LIST_PUBLISH,
    Operation,
)
from registry.proofs import accreditation_from_chain, verify_ledger_proof
from registry.state import DIDState, KeyRecord, grant_key_compromised
from verifier import _memo
from verifier.errors import (
    AccreditationGrantKeyCompromised,
    AccreditationRevoked,
    CredentialTypeNotAccepted,
    IssuerKeyCompromised,
    IssuerKeyNotValidAtIssuance,
    IssuerKeyUnknown,
    IssuerNotAccredited,
    LedgerEvidenceMismatch,
    StatusListForeign,
    StatusListTypeNotCovered,
    StatusMissing,
)
from verifier.lookups import LedgerLookups
from verifier.policy import TrustPolicy
from verifier.report import VerificationReport, run_checks

__all__ = ["CHECKS", "VerifiedCredential", "verify_presentation"]

CHECKS: Final = (
    "issuer_signature",
    "issuer_accredited",
    "disclosures",
    "validity_window",
    "key_binding",
    "status",
    "ledger_proof",
    "requested_claims",
)

ASSERTION: Final = "assertionMethod"
# An accreditor's own accreditation is followed at most this far towards the root.
MAX_ACCREDITATION_DEPTH: Final = 4
# Registered claims a counter is shown alongside the requested ones.
_SHOWN_REGISTERED: Final = ("iss", "vct", "iat", "exp")


@dataclass(frozen=True, slots=True)
class VerifiedCredential:
    """What an accepted presentation establishes (only built after every check passed)."""

    iss: str
    vct: str
    claims: Mapping[str, Any]


# --- reading ledger proofs before they are proven -----------------------------------


Chain = list[tuple[Operation, int, int]]


def _raws(proof: object) -> tuple[str, ...]:
    """The entries a `ledgerProof` carries (base64url), history first, NOT yet proven."""
    if not isinstance(proof, Mapping):
        raise ProofMalformed("the ledger proof is missing")
    history = proof.get("history", [])
    if not isinstance(history, list):
        raise ProofMalformed("the proof's history is a list")
    raws = []
    for item in [*history, proof]:
        raw = item.get("entry") if isinstance(item, Mapping) else None
        if not isinstance(raw, str):
            raise ProofMalformed("a proven entry carries its entry bytes")
        raws.append(raw)
    return tuple(raws)


def _unproven_chain(proof: object, *, origin: str) -> Chain:
    """The operations a `ledgerProof` carries, history first, NOT yet proven.

    Check 7 proves the same entries with `verify_ledger_proof`; until then
    they are only a claim of whoever served them.
    """
    return [_memo.parse_entry(raw, origin) for raw in _raws(proof)]


def _fragment(kid: object, did: str) -> str:
    if not isinstance(kid, str) or not kid:
        raise IssuerKeyUnknown("the token does not name its signing key ('kid')")
    if kid.startswith("#"):
        return kid
    if kid.startswith(did + "#"):
        return kid[len(did) :]
    raise IssuerKeyUnknown("the token's key id is not a key of its issuer")


def _valid_at(records: Sequence[KeyRecord], multikey: str, iat: float) -> bool:
    # Windows in log milliseconds, `iat` in seconds: compared in one unit (issue 13 item 16).
    return any(
        r.multikey == multikey
        and ASSERTION in r.relationships
        and numeric_date_in_window(iat, start_ms=r.valid_from, end_ms=r.valid_until)
        for r in records
    )


def _verify_with_history(
    jws: UnverifiedJWS, *, state: DIDState, algs: Sequence[str] | frozenset[str]
) -> tuple[PublicKey, Mapping[str, Any], float]:
    """Verify `jws` with a key of `state` valid at the token's `iat` (method spec §6.4).

    Returns the key, the verified payload and `iat`. Steps: (a) the fragment
    the `kid` names; (b) refused if any record of it is compromised; (c) the
    signature by one of its assertion keys; (d) `iat` inside that key's window.
    """
    fragment = _fragment(jws.header.get("kid"), state.did)  # (a)
    records = [r for r in state.keys if r.fragment == fragment]
    if not records:
        raise IssuerKeyUnknown("the issuer's DID never had the key the token names")
    if any(r.compromised for r in records):  # (b)
        raise IssuerKeyCompromised("the issuer's key was marked compromised on the ledger")
    candidates = list(dict.fromkeys(r.multikey for r in records if ASSERTION in r.relationships))
    if not candidates:
        raise IssuerKeyUnknown("the key the token names was never an assertion key")
    failure: GovidError = SignatureInvalid("the signature does not verify")
    for multikey in candidates:  # (c)
        key = from_multikey(multikey)
        try:
            verified = verify_jws(jws, key, typ=None, algs=algs)
        except (SignatureInvalid, AlgorithmNotAllowed) as exc:
            failure = exc
            continue
        payload = verified.claims()
        iat = numeric_date(payload, "iat")
        if iat is None:
            raise ClaimMissing("the token has no 'iat' in its signed payload")
        if not _valid_at(records, multikey, iat):  # (d)
            raise IssuerKeyNotValidAtIssuance("the key was not the issuer's when the token says")
        return key, payload, iat
    raise failure


# --- the run --------------------------------------------------------------------------


@dataclass
class _Run:
    """The values one verification passes from check to check."""

    unverified: UnverifiedSDJWT
    expected_aud: str
    expected_nonce: str
    query: CredentialQuery | None
    policy: TrustPolicy
    lookups: LedgerLookups
    now: datetime
    iss: str = ""
    vct: str = ""
    iat: float = 0.0
    state: DIDState | None = None
    payload: Mapping[str, Any] = field(default_factory=dict)
    claims: dict[str, Any] = field(default_factory=dict)
    sd_alg: str = DEFAULT_SD_ALG
    used: list[tuple[Mapping[str, Any], Chain]] = field(default_factory=list)
    disclosed: dict[str, Any] | None = None

    def _origin(self) -> str:
        return self.policy.ledger.origin

    def _did_state(self, did: str) -> DIDState:
        proof = self.lookups.did_proof(did)
        chain = _unproven_chain(proof, origin=self._origin())
        if any(op.did != did for op, _, _ in chain):
            raise ProofMalformed("the proof holds operations of another DID")
        self.used.append((proof, chain))
        # Checks every operation's signature and the hash chain (once per exact history).
        return _memo.replay(_raws(proof), self._origin())

    # 1
    def issuer_signature(self) -> None:
        header = self.unverified.jws.header
        typ = header.get("typ")
        if not isinstance(typ, str) or normalise_typ(typ) != VC_TYP:  # SD-JWT VC §2.2.1
            raise VCTypeInvalid("the credential's 'typ' is not dc+sd-jwt")
        iss = self.unverified.unverified_payload.get("iss")
        if not isinstance(iss, str) or not iss.startswith("did:govid:"):
            raise IssuerMissing("the credential's issuer is not a DID on the ledger")
        state = self._did_state(iss)
        if state.deactivated:
            raise DIDDeactivated("the issuer's DID has been deactivated")
        _, payload, iat = _verify_with_history(
            self.unverified.jws, state=state, algs=tuple(self.policy.algs)
        )
        self.iss, self.state, self.payload, self.iat = iss, state, payload, iat

    # 2
    def issuer_accredited(self) -> None:
        vct = self.payload.get("vct")
        if not isinstance(vct, str) or not vct:  # SD-JWT VC §2.2.2.1
            raise VCTMissing("the credential has no 'vct' string")
        accepted = self.policy.accepted_vcts
        if accepted is not None and vct not in accepted:
            raise CredentialTypeNotAccepted("this counter does not accept this credential type")
        self.vct = vct
        refusal = self._unaccredited(self.iss, role="issuer", vct=vct, depth=0)
        if refusal is not None:
            raise refusal

    def _unaccredited(self, did: str, *, role: str, vct: str, depth: int) -> GovidError | None:
        """None if `did` holds a trusted `role` accreditation for `vct`, else why not.

        Steps for each accreditation of `did` in `role` for `vct`: (a) never
        revoked, and `iat` inside its validity (method spec §6.4 step 4: the
        issuer chooses `iat`, so a revocation counts whatever its date); (b)
        its grant not signed with a key the accreditor has marked compromised
        (§5.5.3); (c) the accreditor is the root, or is itself accredited as an
        accreditor for `vct` by the same rules. The reason for the most telling
        refusal is returned: a compromised grant key, then a revocation.
        """
        missing = IssuerNotAccredited("the issuer is not accredited for this credential type")
        if depth >= MAX_ACCREDITATION_DEPTH:
            return missing
        refusals: list[GovidError] = []
        for proof in self.lookups.accreditation_proofs(did):
            chain = _unproven_chain(proof, origin=self._origin())
            acc = accreditation_from_chain(chain, subject=did)
            if acc.role != role or vct not in acc.credential_types:
                continue
            if acc.revoked_ms is not None:  # (a)
                refusals.append(AccreditationRevoked("the accreditation was revoked"))
                continue
            if not acc.trusted_at(self.iat):
                continue
            accreditor = self._did_state(acc.accreditor)
            if grant_key_compromised(acc, accreditor):  # (b)
                refusals.append(
                    AccreditationGrantKeyCompromised(
                        "the accreditation was granted with a key since marked compromised"
                    )
                )
                continue
            if acc.accreditor != self.policy.root_did:  # (c)
                upstream = self._unaccredited(
                    acc.accreditor, role="accreditor", vct=vct, depth=depth + 1
                )
                if upstream is not None:
                    refusals.append(upstream)
                    continue
            self.used.append((proof, chain))
            return None
        for kind in (AccreditationGrantKeyCompromised, AccreditationRevoked):
            found = next((r for r in refusals if isinstance(r, kind)), None)
            if found is not None:
                return found
        return missing

    # 3
    def disclosures(self) -> None:
        sd_alg = self.payload.get("_sd_alg", DEFAULT_SD_ALG)
        if sd_alg != DEFAULT_SD_ALG:
            raise HashAlgorithmUnsupported("the '_sd_alg' hash algorithm is not accepted")
        claims, disclosed = process_payload(
            dict(self.payload), self.unverified.disclosures, DEFAULT_SD_ALG
        )
        for entry in disclosed:  # SD-JWT VC §2.2.2.3
            if entry.path[:1] and entry.path[0] in NON_DISCLOSABLE:
                raise ClaimNotDisclosable("a registered claim was selectively disclosed")
        self.claims, self.sd_alg = claims, DEFAULT_SD_ALG

    # 4
    def validity_window(self) -> None:
        check_time_claims(self.claims, now=self.now, skew=self.policy.skew)

    # 5
    def key_binding(self) -> None:
        if self.unverified.kb_jwt is None:
            raise KeyBindingMissing("the presentation has no Key Binding JWT")
        verify_kb_jwt(
            self.unverified.kb_jwt,
            sd_jwt=self.unverified.sd_jwt,
            holder_key=holder_key_from_cnf(self.claims),
            now=self.now,
            expected_aud=self.expected_aud,
            expected_nonce=self.expected_nonce,
            max_age=self.policy.kb_max_age,
            skew=self.policy.skew,
            algs=tuple(self.policy.algs),
            sd_alg=self.sd_alg,
        )

    # 6
    def status(self) -> None:
        if "status" not in self.payload:
            if self.policy.require_status:
                raise StatusMissing("the credential names no status list")
            return
        reference = StatusReference.from_claims(self.payload)
        # A list is named by its issuer and its uri (method spec §5.7).
        proof = self.lookups.status_list_proof(self.iss, reference.uri)
        chain = _unproven_chain(proof, origin=self._origin())
        op = chain[-1][0]
        if op.type != STATUS_LIST_PUBLISH or op.payload.get("uri") != reference.uri:
            raise LedgerEvidenceMismatch("the proven entry is not a publication of this list")
        if op.did != self.iss:
            raise StatusListForeign("the status list was not published by the issuer")
        if self.vct not in op.payload.get("credentialTypes", ()):
            raise StatusListTypeNotCovered("the issuer's list does not answer for this type")
        self.used.append((proof, chain))
        token = op.payload.get("token")
        if not isinstance(token, str):
            raise LedgerEvidenceMismatch("the publication carries no token")
        assert self.state is not None  # check 1 passed
        key, _, _ = _verify_with_history(
            parse_unverified_jws(token), state=self.state, algs=tuple(self.policy.algs)
        )
        verified = _memo.status_list(
            token,
            key=key,
            uri=reference.uri,
            now=self.now,
            skew=self.policy.skew,
            max_age=self.policy.status_list_max_age,
            algs=tuple(self.policy.algs),
        )
        check_reference(reference, verified)

    # 7
    def ledger_proof(self) -> None:
        if not self.used:
            raise LedgerEvidenceMismatch("no ledger evidence was used")
        seen: set[int] = set()
        for proof, chain in self.used:
            if id(proof) in seen:
                continue
            seen.add(id(proof))
            proven = verify_ledger_proof(proof, trust=self.policy.ledger, now=self.now)
            got = [(p.entry.index, p.operation.op_hash) for p in proven.entries]
            if got != [(index, op.op_hash) for op, index, _ in chain]:
                raise LedgerEvidenceMismatch("the proven entries are not the ones relied on")

    # 8
    def requested_claims(self) -> None:
        if self.query is None:
            shown = {
                k: v for k, v in self.claims.items() if k not in NON_DISCLOSABLE and k != "iat"
            }
        else:
            shown = match_credential(self.query, vct=self.vct, claims=self.claims)
        for name in _SHOWN_REGISTERED:
            if name in self.claims:
                shown[name] = self.claims[name]
        self.disclosed = shown


def verify_presentation(
    presentation: str | UnverifiedSDJWT,
    *,
    expected_aud: str,
    expected_nonce: str,
    query: CredentialQuery | None,
    policy: TrustPolicy,
    lookups: LedgerLookups,
    now: datetime,
) -> VerificationReport:
    """Verify one SD-JWT VC presentation with Key Binding; return the named-checks report.

    Raises `MalformedInput` (`sd_jwt.malformed`, `jose.malformed`, ...) only
    when the presentation cannot even be split into its parts; every other
    failure is a report with `accepted == False`, the failing check and its
    code. Lookups that cannot answer fail the check that needed them.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    unverified = (
        presentation
        if isinstance(presentation, UnverifiedSDJWT)
        else UnverifiedSDJWT.parse(presentation)
    )
    run = _Run(unverified, expected_aud, expected_nonce, query, policy, lookups, now)
    report = run_checks([(name, getattr(run, name)) for name in CHECKS])
    if report.accepted:
        return replace(report, disclosed=run.disclosed)
    return report
