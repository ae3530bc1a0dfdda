"""The auditor: replay the whole log and check every rule and every checkpoint.

`govid registry audit URL` is how anyone checks the registry without trusting
its operator (ARCHITECTURE.md, "Who uses it"). The core is pure: `Auditor` is
fed checkpoint notes and entry bytes, keeps going after a failure and collects
*every* violation as a `Violation` (where, stable code, sentence). Only
`audit_registry` does I/O, and only to fetch.

Each entry, in log order (steps tagged E1-E6 below):
  E1. its bytes become the next leaf of the recomputed Merkle tree, whatever they hold;
  E2. they parse as a canonical log entry (method spec §4.2);
  E3. its `index` follows the previous entry's: no gap, nothing reused;
  E4. its `time` is not earlier than the previous entry's;
  E5. its operation parses for the log's origin, and entry 0 is a `did.create`
      (the root authority, method spec §5.6);
  E6. `registry.rules.check_operation` accepts it against the state replayed so
      far, at its position and time; only then does the state advance.

Each checkpoint note (steps tagged C1-C4):
  C1. the log's key signed it and it names the log's origin (C2SP signed-note,
      tlog-checkpoint);
  C2. every line from a configured witness verifies (tlog-cosignature); under a
      `WitnessPolicy`, at least `quorum` distinct policy witnesses cosigned it.
      Timestamps are not held to any freshness: old checkpoints stay valid;
  C3. its size is not smaller than that of a checkpoint before it (a log only grows);
  C4. (in `Auditor.report`, once every entry is in) the log holds that many
      entries and the root recomputed at that size is the signed root
      (RFC 9162 §2.1.1). Equal roots at every size imply that consecutive
      checkpoints are consistent (RFC 9162 §2.1.4), so no proof is fetched.

A violation's code is the code of the error its check raised: `ledger.*` from
the entry and the rules, `note.*`, `checkpoint.*`, `cosignature.invalid`,
`witness.policy_unsatisfied`, and the auditor's own:

    VerificationFailed
    ├── IndexGap                 audit.index_gap              an index was skipped
    ├── IndexReused              audit.index_reused           an index repeats or goes back
    ├── TimeRegression           audit.time_regression        time ran backwards
    ├── GenesisNotCreate         audit.genesis_not_create     entry 0 is not a did.create
    ├── RootMismatch             audit.root_mismatch          signed root != recomputed root
    ├── CheckpointBeyondLog      audit.checkpoint_beyond_log  signed size > entries served
    ├── CheckpointUnlisted       audit.checkpoint_unlisted    /checkpoint not in the history
    └── NoCheckpoint             audit.no_checkpoint          nothing signed by the log's key
    MalformedInput
    └── AuditResponseMalformed   audit.response_malformed     raised: not the registry API
    Unavailable
    └── RegistryUnreachable      audit.registry_unavailable   raised: network or HTTP error
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import httpx

from did.encoding import b64url_decode
from did.errors import GovidError, MalformedInput, Unavailable, VerificationFailed
from registry.checkpoint import Checkpoint, verify_checkpoint
from registry.cosignature import WitnessVerifier
from registry.entry import LogEntry
from registry.errors import CheckpointRollback, WitnessPolicyUnsatisfied
from registry.merkle import InMemoryTree
from registry.note import Note, NoteVerifier
from registry.operation_errors import MalformedOperation
from registry.operations import DID_CREATE, STATUS_LIST_PUBLISH, Operation
from registry.policy import WitnessPolicy
from registry.rules import check_operation
from registry.state import MemoryLedger
from service.fetch import Fetcher, FetchPolicy

PAGE_SIZE: Final = 1000  # the registry's MAX_ENTRIES_PER_PAGE
MAX_SHOWN_VIOLATIONS: Final = 50


class IndexGap(VerificationFailed):
    code = "audit.index_gap"


class IndexReused(VerificationFailed):
    code = "audit.index_reused"


class TimeRegression(VerificationFailed):
    code = "audit.time_regression"


class GenesisNotCreate(VerificationFailed):
    code = "audit.genesis_not_create"


class RootMismatch(VerificationFailed):
    code = "audit.root_mismatch"


class CheckpointBeyondLog(VerificationFailed):
    code = "audit.checkpoint_beyond_log"


class CheckpointUnlisted(VerificationFailed):
    code = "audit.checkpoint_unlisted"


class NoCheckpoint(VerificationFailed):
    code = "audit.no_checkpoint"


class AuditResponseMalformed(MalformedInput):
    code = "audit.response_malformed"


class RegistryUnreachable(Unavailable):
    code = "audit.registry_unavailable"


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule: where (entry position or checkpoint size), code and sentence."""

    code: str
    message: str
    index: int | None = None
    size: int | None = None

    @classmethod
    def of(cls, exc: GovidError, *, index: int | None = None, size: int | None = None) -> Violation:
        return cls(exc.code, exc.message, index, size)

    @property
    def where(self) -> str:
        if self.index is not None:
            return f"entry {self.index}"
        if self.size is not None:
            return f"checkpoint {self.size}"
        return "log"


@dataclass(frozen=True, slots=True)
class AuditReport:
    origin: str
    log_vkey: str
    trust_on_first_use: bool  # the log key came from the registry being audited
    entries: int
    dids: int
    deactivated_dids: int
    accreditations: int
    revoked_accreditations: int
    status_lists: int
    status_list_publications: int
    operations: Mapping[str, int]  # accepted operations by type
    checkpoints: int  # checkpoint notes examined
    checkpoints_verified: int  # signed by the log and matching the recomputed root
    largest_verified_size: int | None
    cosignatures: int  # verified witness cosignature lines, over all checkpoints
    cosignatures_by_witness: Mapping[str, int]  # "<name>+<key ID>" -> checkpoints cosigned
    quorum: int | None  # the policy's quorum, None when no policy was given
    violations: tuple[Violation, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.violations


def _witness_label(witness: WitnessVerifier) -> str:
    return f"{witness.name}+{witness.key_id.hex()}"


def _claimed_size(note: str) -> int | None:
    """The size an unverified note claims, only to say where a violation is."""
    try:
        return Checkpoint.parse(Note.parse(note).unverified_text).size
    except GovidError:
        return None


class Auditor:
    """Replays a log fed in order; see the module docstring for the steps.

    Feed checkpoints (ascending, as the log published them) and entries (in
    log order) in any interleaving, then call `report`. The tree keeps every
    node in memory so that a root can be recomputed at any past size.
    """

    def __init__(
        self,
        *,
        origin: str,
        log_verifier: NoteVerifier,
        policy: WitnessPolicy | None = None,
        witnesses: Sequence[WitnessVerifier] = (),
        log_vkey: str | None = None,
        trust_on_first_use: bool = False,
    ) -> None:
        self.origin = origin
        self._log_verifier = log_verifier
        self._log_vkey = log_vkey or log_verifier.to_vkey()
        self._tofu = trust_on_first_use
        self._policy = policy
        configured = list(policy.witnesses if policy is not None else ())
        known = {(w.name, w.key_id) for w in configured}
        configured += [w for w in witnesses if (w.name, w.key_id) not in known]
        self._witnesses = {(w.name, w.key_id): w for w in configured}
        self._in_policy = known
        self._by_witness: Counter[str] = Counter({_witness_label(w): 0 for w in configured})
        self._cosignatures = 0
        self._ledger = MemoryLedger()
        self._tree = InMemoryTree()
        self._next_index = 0  # the index the next entry should carry
        self._last_time: int | None = None
        self._operations: Counter[str] = Counter()
        self._notes = 0
        self._checkpoints: list[Checkpoint] = []  # signed by the log, in the order fed
        self._violations: list[Violation] = []

    def record(self, exc: GovidError, *, index: int | None = None, size: int | None = None) -> None:
        """Add a violation found outside the auditor (e.g. by the fetching code)."""
        self._violations.append(Violation.of(exc, index=index, size=size))

    # --- entries -------------------------------------------------------------------

    def add_entry(self, data: bytes) -> None:
        """Check the next entry of the log; a failed check is recorded, never raised."""
        position = self._tree.append(data)  # (E1) the tree commits to the bytes as served
        try:
            entry = LogEntry.parse(data)  # (E2)
        except GovidError as exc:
            self.record(exc, index=position)
            self._next_index += 1  # it still fills a slot: no gap is reported after it
            return
        except RecursionError:  # json.loads on absurdly nested input
            self.record(MalformedOperation("the log entry is nested too deeply"), index=position)
            self._next_index += 1
            return
        self._check_sequence(entry, position)  # (E3, E4)
        try:
            op = Operation.parse(entry.operation, ledger=self.origin)  # (E5)
            if position == 0 and op.type != DID_CREATE:
                raise GenesisNotCreate("the log's first entry does not create the root authority")
            # (E6) The position, not the claimed index, is what proofs refer to.
            effect = check_operation(op, self._ledger, index=position, time_ms=entry.time_ms)
        except GovidError as exc:  # refused: the replayed state does not advance
            self.record(exc, index=position)
            return
        except RecursionError:
            self.record(MalformedOperation("the operation is nested too deeply"), index=position)
            return
        self._ledger.apply(effect)
        self._operations[op.type] += 1

    def _check_sequence(self, entry: LogEntry, position: int) -> None:
        # (E3) Compared with the previous entry rather than with the position,
        # so that one removed entry is one violation, not one per entry after it.
        expected = self._next_index
        if entry.index > expected:
            self.record(
                IndexGap(f"the index jumps to {entry.index} where {expected} was expected"),
                index=position,
            )
        elif entry.index < expected:
            self.record(
                IndexReused(f"the index {entry.index} was expected to be {expected}"),
                index=position,
            )
        self._next_index = entry.index + 1
        # (E4) method spec §4.2: log time never runs backwards.
        if self._last_time is not None and entry.time_ms < self._last_time:
            self.record(
                TimeRegression("the entry's time is earlier than the entry before it"),
                index=position,
            )
        self._last_time = entry.time_ms

    # --- checkpoints -----------------------------------------------------------------

    def add_checkpoint(self, note_text: str) -> None:
        """Check one checkpoint note's signatures and size; its root is checked in `report`."""
        self._notes += 1
        try:
            note = Note.parse(note_text)
            checkpoint = verify_checkpoint(  # (C1)
                note, origin=self.origin, log_verifier=self._log_verifier
            )
        except GovidError as exc:
            self.record(exc, size=_claimed_size(note_text))
            return
        self._check_cosignatures(note, checkpoint)  # (C2)
        if self._checkpoints and checkpoint.size < max(c.size for c in self._checkpoints):
            self.record(  # (C3)
                CheckpointRollback("the checkpoint is smaller than one signed before it"),
                size=checkpoint.size,
            )
        self._checkpoints.append(checkpoint)

    def _check_cosignatures(self, note: Note, checkpoint: Checkpoint) -> None:
        # Each line is verified on its own (unlike `note.verify_signatures`, which
        # stops at the first bad one), so one forged line does not hide good ones.
        message = note.unverified_text.encode("utf-8")
        counted: set[tuple[str, bytes]] = set()
        for line in note.signatures:
            witness = self._witnesses.get((line.name, line.key_id))
            if witness is None:  # signed-note: lines from unknown keys are ignored
                continue
            try:
                witness.verify(message, line.signature)
            except GovidError as exc:
                self.record(exc, size=checkpoint.size)
                continue
            if (line.name, line.key_id) not in counted:
                counted.add((line.name, line.key_id))
                self._cosignatures += 1
                self._by_witness[_witness_label(witness)] += 1
        if self._policy is not None:
            in_policy = len(counted & self._in_policy)
            if in_policy < self._policy.quorum:
                self.record(
                    WitnessPolicyUnsatisfied(
                        f"{in_policy} of the required {self._policy.quorum} witnesses "
                        "cosigned this checkpoint"
                    ),
                    size=checkpoint.size,
                )

    # --- the report ------------------------------------------------------------------

    @property
    def entries(self) -> int:
        return self._tree.size

    @property
    def largest_signed_size(self) -> int:
        """The largest size a checkpoint signed by the log's key committed to (0 if none)."""
        return max((c.size for c in self._checkpoints), default=0)

    def report(self) -> AuditReport:
        """The report so far. Pure: calling it twice, or before the end, changes nothing."""
        violations = list(self._violations)
        verified: list[int] = []
        for checkpoint in self._checkpoints:  # (C4)
            size = checkpoint.size
            if size > self._tree.size:
                message = f"the checkpoint commits to {size} entries; the log served {self.entries}"
                violations.append(Violation.of(CheckpointBeyondLog(message), size=size))
            elif self._tree.root(size) != checkpoint.root_hash:
                message = "the signed root is not the root of the entries served"
                violations.append(Violation.of(RootMismatch(message), size=size))
            else:
                verified.append(size)
        if not self._checkpoints:
            message = "no checkpoint signed by the log's key was found"
            violations.append(Violation.of(NoCheckpoint(message)))
        ledger = self._ledger
        return AuditReport(
            origin=self.origin,
            log_vkey=self._log_vkey,
            trust_on_first_use=self._tofu,
            entries=self._tree.size,
            dids=len(ledger.dids),
            deactivated_dids=sum(1 for s in ledger.dids.values() if s.deactivated),
            accreditations=len(ledger.accreditations),
            revoked_accreditations=sum(
                1 for a in ledger.accreditations.values() if a.revoked_ms is not None
            ),
            status_lists=len(ledger.lists),
            status_list_publications=self._operations[STATUS_LIST_PUBLISH],
            operations=dict(sorted(self._operations.items())),
            checkpoints=self._notes,
            checkpoints_verified=len(verified),
            largest_verified_size=max(verified, default=None),
            cosignatures=self._cosignatures,
            cosignatures_by_witness=dict(self._by_witness),
            quorum=self._policy.quorum if self._policy is not None else None,
            violations=tuple(violations),
        )


# --- fetching ------------------------------------------------------------------------


# A page of entries or checkpoints: far below this, and the audit's own memory bound.
MAX_PAGE_BYTES = 64 * 1024 * 1024


def _get(
    client: httpx.Client, url: str, *, expect: tuple[int, ...] = (200,), **params: int
) -> httpx.Response:
    # The auditor's own registry URL: the configured policy, bounded in size and time.
    read = client.timeout.read
    policy = FetchPolicy.configured(max_bytes=MAX_PAGE_BYTES, budget=3 * (read or 30.0))
    try:
        response = Fetcher(policy, client=client).get(url, params=params or None)
    except Unavailable as exc:
        raise RegistryUnreachable(f"the registry could not be used ({exc.code})") from exc
    if response.status_code not in expect:
        raise RegistryUnreachable(
            f"the registry answered an audit request with {response.status_code}"
        )
    return response


def _json_list(response: httpx.Response, member: str) -> list[Any]:
    try:
        body = response.json()
    except ValueError as exc:
        raise AuditResponseMalformed("the registry answered with something not JSON") from exc
    items = body.get(member) if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise AuditResponseMalformed(f"the registry's answer has no {member!r} list")
    return items


def _item(item: Any, *, number: str, text: str) -> tuple[int, str]:
    value, data = (item.get(number), item.get(text)) if isinstance(item, dict) else (None, None)
    if isinstance(value, bool) or not isinstance(value, int) or not isinstance(data, str):
        raise AuditResponseMalformed(f"a listed item lacks its {number!r} or {text!r}")
    return value, data


def _fetch_checkpoints(client: httpx.Client, base: str) -> list[tuple[int, str]]:
    """Every listed checkpoint as (claimed size, note), in the order the log gives them."""
    notes: list[tuple[int, str]] = []
    start = 0
    while True:
        page = _json_list(_get(client, base + "/log/checkpoints", start=start), "checkpoints")
        notes += [_item(item, number="size", text="note") for item in page]
        if len(page) < PAGE_SIZE:
            return notes
        # max() keeps the loop finite even if a hostile registry lists sizes backwards.
        start = max(start + 1, notes[-1][0] + 1)


def audit_registry(
    url: str,
    *,
    log_vkey: str | None,
    policy: WitnessPolicy | None,
    client: httpx.Client,
    progress: Callable[[int, int], None] | None = None,
    witnesses: Sequence[WitnessVerifier] = (),
) -> AuditReport:
    """Download the registry's whole log and audit it; violations are in the report.

    1. The log key is `log_vkey`, or else `/log/vkey` (the report then says
       the key was trusted on first use).
    2. The latest checkpoint names the origin (first line of its body) and
       the least size the log must have.
    3. Every checkpoint from `/log/checkpoints`, page by page; the latest one
       must be among them (else the registry shows clients a history it
       hides from auditors: `audit.checkpoint_unlisted`).
    4. Entries [0, largest size) from `/log/entries`, 1000 a page, in order;
       `progress(done, total)` after each page.
    5. The auditor's report.

    Raises `audit.registry_unavailable`, `audit.response_malformed`,
    `audit.no_checkpoint` or `note.*`/`checkpoint.malformed` when there is
    nothing to audit; everything wrong *in* the log is a violation instead.
    """
    base = url.rstrip("/")
    tofu = log_vkey is None
    if log_vkey is None:  # (1)
        log_vkey = _get(client, base + "/log/vkey").text.strip()
    log_verifier = NoteVerifier.from_vkey(log_vkey)
    response = _get(client, base + "/checkpoint", expect=(200, 404))  # (2)
    if response.status_code == 404:
        raise NoCheckpoint("the registry has not published a checkpoint yet")
    latest_note = response.text
    latest_body = Note.parse(latest_note).unverified_text
    latest = Checkpoint.parse(latest_body)
    auditor = Auditor(
        origin=latest.origin,
        log_verifier=log_verifier,
        policy=policy,
        witnesses=witnesses,
        log_vkey=log_vkey,
        trust_on_first_use=tofu,
    )
    listed = _fetch_checkpoints(client, base)  # (3)
    for _, note in listed:
        auditor.add_checkpoint(note)
    bodies: set[str] = set()
    for _, note in listed:
        try:
            bodies.add(Note.parse(note).unverified_text)
        except GovidError:
            continue  # already recorded by add_checkpoint
    if latest_body not in bodies:
        message = "the latest checkpoint is missing from the list of all checkpoints"
        auditor.record(CheckpointUnlisted(message), size=latest.size)
        auditor.add_checkpoint(latest_note)

    # (4) Sizes the log signed, not the listing's claims, set how far to read;
    # the latest note's size counts too, so a wrong pinned key still replays.
    total = max(latest.size, auditor.largest_signed_size)
    done = start = 0
    if progress is not None:
        progress(0, total)
    while start < total:
        end = min(start + PAGE_SIZE, total)
        page = _json_list(_get(client, base + "/log/entries", start=start, end=end), "entries")
        if not page:
            break  # the log is shorter than its checkpoints: `report` says so
        last = start
        for item in page:
            last, encoded = _item(item, number="index", text="entry")
            try:
                data = b64url_decode(encoded, what="a log entry")
            except MalformedInput as exc:
                raise AuditResponseMalformed("a log entry is not base64url") from exc
            auditor.add_entry(data)
        done += len(page)
        # Follow the registry's own numbering, so that a missing row is not
        # fetched twice; max() keeps the loop finite whatever it answers.
        start = max(start + len(page), last + 1)
        if progress is not None:
            progress(done, total)
    return auditor.report()  # (5)


# --- the summary ---------------------------------------------------------------------


def render_report(report: AuditReport) -> str:
    """A plain-text summary for the command line; one line per violation (the first 50)."""
    lines = [f"Audit of {report.origin}"]
    key_note = (
        " (trusted on first use: pin it with --log-vkey)" if report.trust_on_first_use else ""
    )
    lines.append(f"  log key: {report.log_vkey}{key_note}")
    lines.append(f"  entries: {report.entries}")
    for op_type, count in report.operations.items():
        lines.append(f"    {op_type}: {count}")
    lines.append(f"  DIDs: {report.dids} ({report.deactivated_dids} deactivated)")
    lines.append(
        f"  accreditations: {report.accreditations} ({report.revoked_accreditations} revoked)"
    )
    lines.append(
        f"  status lists: {report.status_lists} ({report.status_list_publications} publications)"
    )
    largest = report.largest_verified_size
    lines.append(
        f"  checkpoints: {report.checkpoints_verified} of {report.checkpoints} verified"
        + (f", the largest at size {largest}" if largest is not None else "")
    )
    if largest is not None and largest < report.entries:
        lines.append(
            f"    ({report.entries - largest} entries after the largest verified checkpoint)"
        )
    quorum = f" (quorum {report.quorum})" if report.quorum is not None else ""
    lines.append(f"  cosignatures verified: {report.cosignatures}{quorum}")
    for witness, count in sorted(report.cosignatures_by_witness.items()):
        lines.append(f"    {witness}: {count} checkpoints")
    if report.ok:
        lines.append("OK: every entry follows the rules and every checkpoint matches the log.")
        return "\n".join(lines) + "\n"
    lines.append(f"FAILED: {len(report.violations)} violations.")
    for violation in report.violations[:MAX_SHOWN_VIOLATIONS]:
        lines.append(f"  {violation.where}: {violation.code}: {violation.message}")
    hidden = len(report.violations) - MAX_SHOWN_VIOLATIONS
    if hidden > 0:
        lines.append(f"  ... and {hidden} more")
    return "\n".join(lines) + "\n"
