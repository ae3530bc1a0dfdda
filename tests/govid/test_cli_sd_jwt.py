"""`govid sd-jwt decode|verify` through the real command line.

Most tests call `govid.cli.main` in-process (the same entry point the
console script runs, with its exit codes and its single error rendering); a
few run `python -m govid.cli` in a subprocess to cover the real process,
stdin and the console streams. The RFC 9901 examples are read in place from
../shared/vectors and verified with the App. A.5 issuer key; their `iat`s are
old, so `--now` is pinned to the KB-JWT's `iat` (or the credential's).
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from did.jose import parse_unverified_jws
from did.keys import generate_private_key, jwk_from_private_key, jwk_from_public_key
from did.sd_jwt import issue_sd_jwt_vc, parse_sd_jwt, present_sd_jwt
from govid.cli import main
from tests.conftest import REPO, VECTORS

RFC = "sd-jwt/rfc9901-draft22"
RFC_EXAMPLES = sorted(
    p.name
    for p in (VECTORS / RFC / "examples").iterdir()
    if p.is_dir() and not p.name.startswith("json_serialization")  # §8 JSON: not supported
)

AUD = "https://counter.example.gov"
NONCE = "n-0S6_WzA2Mj"
NOW = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
KB = ["--aud", AUD, "--nonce", NONCE]


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)

    @property
    def error_code(self) -> str:
        # `error: <code>: <sentence>`, printed once by govid.cli.main.
        line = self.err.strip()
        assert line.startswith("error: ") and line.count("\n") == 0, self.err
        return line.split(": ", 2)[1]


@pytest.fixture
def govid(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Run]:
    """Run `govid ARGS...` in-process; `stdin` feeds the `-` token."""

    def _run(*args: str, stdin: str = "") -> Run:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        monkeypatch.delenv("GOVID_VERBOSE", raising=False)
        capsys.readouterr()
        with pytest.raises(SystemExit) as exited:
            main(list(args))
        captured = capsys.readouterr()
        code = exited.value.code
        return Run(code if isinstance(code, int) else 1, captured.out, captured.err)

    return _run


def _subprocess(*args: str, stdin: str = "") -> Run:
    proc = subprocess.run(
        [sys.executable, "-m", "govid.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
        timeout=120,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def rfc_issuer_jwk(tmp_path: Path, vector: Callable[[str], Any]) -> Path:
    """The App. A.5 issuer key as a PRIVATE JWK file: only its public part may be used."""
    path = tmp_path / "issuer.jwk"
    path.write_text(json.dumps(vector(f"{RFC}/keys.json")["issuer"]), encoding="utf-8")
    path.chmod(0o600)
    return path


def _presentation(example: str, vector_text: Callable[[str], str]) -> str:
    for name in ("sd_jwt_presentation.txt", "sd_jwt_presentation.REGENERATED.txt"):
        if (VECTORS / RFC / "examples" / example / name).is_file():
            return vector_text(f"{RFC}/examples/{example}/{name}").strip()
    pytest.fail(f"no compact presentation in {example}", pytrace=False)


def _kb_args(presentation: str) -> list[str]:
    """--aud/--nonce/--now for an example: the KB-JWT's own values, or the credential `iat`."""
    parsed = parse_sd_jwt(presentation)
    if parsed.kb_jwt is None:
        iat = parsed.unverified_payload.get("iat", 1_700_000_000)  # jsonld has no iat
        return ["--now", str(iat)]
    kb = json.loads(parse_unverified_jws(parsed.kb_jwt).payload)
    return ["--aud", kb["aud"], "--nonce", kb["nonce"], "--now", str(kb["iat"])]


# --- RFC 9901 examples -----------------------------------------------------------


@pytest.mark.parametrize("example", RFC_EXAMPLES)
def test_rfc9901_example_verifies_to_published_claims(
    example: str,
    govid: Callable[..., Run],
    rfc_issuer_jwk: Path,
    vector: Callable[[str], Any],
    vector_text: Callable[[str], str],
) -> None:
    presentation = _presentation(example, vector_text)
    run = govid(
        "sd-jwt", "verify", presentation, "--issuer-key", str(rfc_issuer_jwk),
        *_kb_args(presentation),
    )  # fmt: skip
    assert run.code == 0, run.err
    assert run.json() == vector(f"{RFC}/examples/{example}/verified_contents.json")


def test_rfc9901_example_through_a_real_process_and_stdin(
    rfc_issuer_jwk: Path, vector: Callable[[str], Any], vector_text: Callable[[str], str]
) -> None:
    presentation = _presentation("simple", vector_text)
    kb = vector(f"{RFC}/examples/simple/kb_jwt_payload.json")
    ok = _subprocess(
        "sd-jwt", "verify", "-", "--issuer-key", str(rfc_issuer_jwk),
        "--aud", kb["aud"], "--nonce", kb["nonce"], "--now", str(kb["iat"]),
        stdin=presentation + "\n",
    )  # fmt: skip
    assert ok.code == 0, ok.err
    assert ok.json() == vector(f"{RFC}/examples/simple/verified_contents.json")

    wrong = _subprocess(
        "sd-jwt", "verify", presentation, "--issuer-key", str(rfc_issuer_jwk),
        "--aud", kb["aud"], "--nonce", "another-nonce", "--now", str(kb["iat"]),
    )  # fmt: skip
    assert (wrong.code, wrong.error_code, wrong.out) == (1, "kb_jwt.nonce_mismatch", "")
    assert "Traceback" not in wrong.err


def test_decode_shows_every_disclosure_unverified(
    govid: Callable[..., Run], vector: Callable[[str], Any], vector_text: Callable[[str], str]
) -> None:
    issued = vector_text(f"{RFC}/examples/simple/sd_jwt_issuance.txt").strip()
    run = govid("sd-jwt", "decode", "-", stdin=issued)
    assert run.code == 0, run.err
    decoded = run.json()
    assert decoded["verified"] is False
    assert "UNVERIFIED" in decoded["note"]
    assert decoded["header"] == {"alg": "ES256", "typ": "example+sd-jwt"}
    assert decoded["payload"] == vector(f"{RFC}/examples/simple/sd_jwt_payload.json")
    assert decoded["key_binding_jwt"] is None
    published = vector(f"{RFC}/examples/simple/disclosures.json")
    assert [
        (d["disclosure"], d["digest"], [d["salt"], *([d["name"]] if d["name"] else []), d["value"]])
        for d in decoded["disclosures"]
    ] == [(p["disclosure"], p["digest_sha256"], p["decoded"]) for p in published]


def test_decode_shows_the_key_binding_jwt(
    govid: Callable[..., Run], vector: Callable[[str], Any], vector_text: Callable[[str], str]
) -> None:
    run = govid("sd-jwt", "decode", _presentation("simple", vector_text))
    assert run.code == 0, run.err
    kb = run.json()["key_binding_jwt"]
    assert kb["header"] == vector(f"{RFC}/examples/simple/kb_jwt_header.json")
    assert kb["payload"] == vector(f"{RFC}/examples/simple/kb_jwt_payload.json")


def test_decode_refuses_what_is_not_an_sd_jwt(govid: Callable[..., Run]) -> None:
    run = govid("sd-jwt", "decode", "not-an-sd-jwt")
    assert (run.code, run.error_code, run.out) == (1, "sd_jwt.malformed", "")


# --- a govid-issued SD-JWT VC with key binding -------------------------------------


@dataclass(frozen=True)
class Credential:
    issuer_jwk: Path
    presentation: str
    without_kb: str


@pytest.fixture(params=["EdDSA", "ES256"])
def credential(request: pytest.FixtureRequest, tmp_path: Path) -> Credential:
    issuer, holder = generate_private_key(request.param), generate_private_key("ES256")
    issued = issue_sd_jwt_vc(
        {
            "given_name": "Mai",
            "family_name": "Tran",
            "birthdate": "1990-02-03",
            "nationality": "VN",
        },
        issuer_key=issuer,
        iss="did:govid:civil-affairs",
        vct="https://govid.example/vct/civil-identity",
        iat=NOW - timedelta(days=1),
        exp=NOW + timedelta(days=365),
        holder_key=holder.public_key(),
        disclosable=[("given_name",), ("family_name",), ("birthdate",), ("nationality",)],
    )
    disclose = [("given_name",), ("birthdate",)]
    path = tmp_path / "issuer.jwk"
    path.write_text(json.dumps(jwk_from_public_key(issuer.public_key())), encoding="utf-8")
    return Credential(
        path,
        present_sd_jwt(issued, disclose=disclose, holder_key=holder, aud=AUD, nonce=NONCE, now=NOW),
        present_sd_jwt(issued, disclose=disclose),
    )


def _verify(cred: Credential, *extra: str, token: str | None = None) -> list[str]:
    return [
        "sd-jwt", "verify", cred.presentation if token is None else token,
        "--issuer-key", str(cred.issuer_jwk), "--now", str(int(NOW.timestamp())), *extra,
    ]  # fmt: skip


def test_govid_sd_jwt_vc_with_key_binding_verifies(
    govid: Callable[..., Run], credential: Credential
) -> None:
    for flags in (["--vc"], []):  # the VC profile, and plain RFC 9901 rules
        run = govid(*_verify(credential, *flags, *KB))
        assert run.code == 0, run.err
        claims = run.json()
        assert claims["given_name"] == "Mai" and claims["birthdate"] == "1990-02-03"
        assert "family_name" not in claims and "nationality" not in claims
        assert claims["vct"] == "https://govid.example/vct/civil-identity"


def test_private_issuer_jwk_file_is_used_for_its_public_part(
    govid: Callable[..., Run], tmp_path: Path
) -> None:
    issuer = generate_private_key("EdDSA")
    issued = issue_sd_jwt_vc(
        {"given_name": "Mai"}, issuer_key=issuer, iss="did:govid:x", vct="v", iat=NOW
    )
    path = tmp_path / "private.jwk"
    path.write_text(json.dumps(jwk_from_private_key(issuer)), encoding="utf-8")
    run = govid(
        "sd-jwt", "verify", issued.serialize(), "--issuer-key", str(path),
        "--now", str(int(NOW.timestamp())), "--vc",
    )  # fmt: skip
    assert run.code == 0, run.err
    assert run.json()["given_name"] == "Mai"


# --- failures: exit 1 and a stable code, nothing on stdout ---------------------------


def _flip_signature_bit(presentation: str) -> str:
    jwt, rest = presentation.split("~", 1)
    head, sig = jwt.rsplit(".", 1)
    flipped = sig[:10] + ("A" if sig[10] != "A" else "B") + sig[11:]
    return f"{head}.{flipped}~{rest}"


def _disclosure_added_after_kb(c: Credential) -> str:
    # A Disclosure the holder did not bind: the KB-JWT's sd_hash no longer matches,
    # and here the added one repeats a presented Disclosure.
    first = c.without_kb.split("~")[1]
    return c.without_kb + first + "~" + c.presentation.rsplit("~", 1)[1]


@pytest.mark.parametrize(
    ("make", "extra", "code"),
    [
        pytest.param(
            lambda c: _flip_signature_bit(c.presentation), KB, "jose.signature_invalid",
            id="tampered-issuer-signature",
        ),
        pytest.param(
            lambda c: c.presentation, ["--aud", AUD, "--nonce", "n-other"],
            "kb_jwt.nonce_mismatch", id="wrong-nonce",
        ),
        pytest.param(
            lambda c: c.presentation, ["--aud", "https://x.example", "--nonce", NONCE],
            "kb_jwt.aud_mismatch", id="wrong-aud",
        ),
        pytest.param(lambda c: c.without_kb, KB, "kb_jwt.missing", id="kb-missing"),
        pytest.param(
            lambda c: c.presentation[: c.presentation.rfind("~") + 1], ["--vc", *KB],
            "kb_jwt.missing", id="kb-jwt-dropped-vc",
        ),
        pytest.param(
            _disclosure_added_after_kb, KB, "sd_jwt.disclosure_duplicate",
            id="disclosure-added-after-kb",
        ),
    ],
)  # fmt: skip
def test_rejected_presentation_exits_1_with_its_code(
    govid: Callable[..., Run],
    credential: Credential,
    make: Callable[[Credential], str],
    extra: list[str],
    code: str,
) -> None:
    run = govid(*_verify(credential, *extra, token=make(credential)))
    assert (run.code, run.error_code, run.out) == (1, code, "")


def test_expired_credential_at_pinned_now(
    govid: Callable[..., Run], credential: Credential
) -> None:
    later = str(int((NOW + timedelta(days=400)).timestamp()))
    run = govid(*_verify(credential, "--vc", token=credential.without_kb), "--now", later)
    assert (run.code, run.error_code) == (1, "jwt.expired")


def test_stale_key_binding_at_pinned_now(govid: Callable[..., Run], credential: Credential) -> None:
    later = str(int((NOW + timedelta(hours=1)).timestamp()))
    run = govid(*_verify(credential, *KB), "--now", later)
    assert (run.code, run.error_code) == (1, "kb_jwt.stale")


def test_vc_rules_refuse_a_plain_sd_jwt(
    govid: Callable[..., Run], rfc_issuer_jwk: Path, vector_text: Callable[[str], str]
) -> None:
    presentation = _presentation("simple", vector_text)
    run = govid(
        "sd-jwt", "verify", presentation, "--issuer-key", str(rfc_issuer_jwk), "--vc",
        *_kb_args(presentation),
    )  # fmt: skip
    assert (run.code, run.error_code) == (1, "sd_jwt_vc.typ_invalid")


def test_wrong_issuer_key_is_a_signature_failure(
    govid: Callable[..., Run], credential: Credential, tmp_path: Path
) -> None:
    other = tmp_path / "other.jwk"
    other.write_text(json.dumps(jwk_from_public_key(generate_private_key("ES256").public_key())))
    args = _verify(credential)
    args[args.index("--issuer-key") + 1] = str(other)
    run = govid(*args)
    # An Ed25519-signed token with a P-256 key is refused before any signature math.
    assert run.code == 1 and run.error_code in ("jose.signature_invalid", "jose.alg_not_allowed")


@pytest.mark.parametrize(
    ("content", "code"),
    [("not json", "key.invalid"), ("[1]", "key.invalid"), ('{"kty": "RSA"}', "key.unsupported")],
)
def test_bad_issuer_key_file(
    govid: Callable[..., Run], credential: Credential, tmp_path: Path, content: str, code: str
) -> None:
    credential.issuer_jwk.write_text(content, encoding="utf-8")
    run = govid(*_verify(credential))
    assert (run.code, run.error_code) == (1, code)


@pytest.mark.parametrize("flag", ["--aud", "--nonce"])
def test_aud_without_nonce_is_a_usage_error(
    govid: Callable[..., Run], credential: Credential, flag: str
) -> None:
    run = govid(*_verify(credential, flag, "x"))
    assert run.code == 2
    assert run.out == ""
