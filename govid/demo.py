"""`govid demo`: the whole story against a running stack (`govid up`), narrated.

1. The civil affairs agency issues a civil identity, the health insurance
   agency a medical insurance card; a citizen's wallet receives both, after
   checking them against the ledger.
2. A service counter asks for "over 18" and the insurance number only; the
   citizen consents; the counter sees a yes and exactly those two claims.
3. The civil agency revokes the identity; the next presentation is refused
   with `status.revoked`, read from the status list on the ledger.
4. The health insurance agency rotates its signing key; the card issued
   before still verifies (the key was valid at issuance).
5. The ledger is audited end to end.

The citizen's wallet is a fresh one in a temporary directory.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from did.errors import GovidError, Unavailable
from service.fetch import Fetcher, FetchPolicy
from service.oauth import basic_authorization

T = TypeVar("T")

CIVIL_CLAIMS = {
    "personal_id": "DEMO-0001",
    "given_name": "Linh",
    "family_name": "Tran",
    "birthdate": "1988-04-12",
    "nationality": "VN",
}
MEDICAL_CLAIMS = {
    "personal_id": "DEMO-0001",
    "given_name": "Linh",
    "family_name": "Tran",
    "insurance_number": "HI-4412-0093",
    "insurer": "Health Insurance Agency",
    "coverage": "basic",
    "valid_until": "2030-12-31",
}


class DemoFailed(Unavailable):
    code = "demo.failed"


def _retry(what: str, attempt: Callable[[], T | None], timeout: float = 60.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        result = attempt()
        if result is not None:
            return result
        if time.monotonic() > deadline:
            raise DemoFailed(f"{what} did not happen in time")
        time.sleep(0.5)


class Demo:
    def __init__(self, data: Path, console: Console) -> None:
        stack_file = data / "stack.json"
        if not stack_file.exists():
            raise DemoFailed("no running stack here: start it with `make run` (govid up)")
        self.data = data
        self.stack: dict[str, Any] = json.loads(stack_file.read_text(encoding="utf-8"))
        self.console = console
        self.http = httpx.Client(timeout=30.0)
        # Every request through the one bounded fetch; the stack is the operator's own.
        self.fetch = Fetcher(
            FetchPolicy.configured(max_bytes=16 * 1024 * 1024, budget=90.0), client=self.http
        )

    # --- helpers -----------------------------------------------------------------------

    def say(self, step: str, text: str) -> None:
        self.console.print(Panel(text, title=step, title_align="left", border_style="cyan"))

    def agency_token(self, slug: str) -> str:
        issuer = self.stack["issuers"][slug]
        response = self.fetch.post(
            issuer["url"] + "/token",
            data={"grant_type": "client_credentials"},
            headers={
                "Authorization": basic_authorization(issuer["client_id"], issuer["client_secret"])
            },
        )
        return str(self._ok(response, "the agency's token request")["access_token"])

    def counter_token(self) -> str:
        counter = self.stack["counter"]
        response = self.fetch.post(
            self.stack["verifier"] + "/oauth/token",
            data={"grant_type": "client_credentials"},
            headers={
                "Authorization": basic_authorization(counter["client_id"], counter["client_secret"])
            },
        )
        return str(self._ok(response, "the counter's token request")["access_token"])

    @staticmethod
    def _ok(response: httpx.Response, what: str) -> dict[str, Any]:
        if response.status_code >= 400:
            try:
                code = response.json().get("govid_error") or response.json().get("error")
            except ValueError:
                code = None
            raise DemoFailed(f"{what} was refused (HTTP {response.status_code}, {code})")
        body: dict[str, Any] = response.json()
        return body

    def offer(self, slug: str, configuration: str, claims: dict[str, Any]) -> dict[str, Any]:
        response = self.fetch.post(
            self.stack["issuers"][slug]["url"] + "/api/offers",
            headers={"authorization": f"Bearer {self.agency_token(slug)}"},
            json={"credential_configuration_id": configuration, "claims": claims},
        )
        return self._ok(response, f"the {slug} agency's offer")

    def vct(self, slug: str, configuration: str) -> str:
        metadata = self._ok(
            self.fetch.get(
                self.stack["issuers"][slug]["url"] + "/.well-known/openid-credential-issuer"
            ),
            "the issuer metadata",
        )
        return str(metadata["credential_configurations_supported"][configuration]["vct"])

    def wallet(self, directory: Path) -> Any:
        from holder_wallet.settings import WalletSettings
        from holder_wallet.wallet import Wallet

        registry = json.loads((self.data / "registry" / "registry.json").read_text())
        vkey = (self.data / "registry" / "log.vkey").read_text().strip()
        settings = WalletSettings(
            dir=directory,
            registry_url=self.stack["registry"],
            log_vkey=vkey,
            witness_vkeys=[w["vkey"] for w in registry["witnesses"]],
            quorum=registry["quorum"],
            allow_loopback_http=True,  # the demo runs against the development stack
        )
        wallet = Wallet(settings)
        wallet.init("demo passphrase, not a real one")
        wallet.unlock("demo passphrase, not a real one")
        return wallet

    def settle(self) -> None:
        """Wait until the ledger's newest entries are under a cosigned checkpoint.

        Counters trust only what witnesses cosigned: a status list published a
        moment ago is provable once the next checkpoint is cosigned.
        """

        def settled() -> bool | None:
            size = self._ok(self.fetch.get(self.stack["registry"] + "/"), "the registry")
            note = self.fetch.get(self.stack["registry"] + "/checkpoint")
            if note.status_code != 200:
                return None
            return True if int(note.text.split("\n")[1]) >= size["treeSize"] else None

        _retry("the witnesses' cosignature of the newest entries", settled)

    def present(self, wallet: Any, query: dict[str, Any]) -> dict[str, Any]:
        self.settle()
        token = self.counter_token()
        auth = {"authorization": f"Bearer {token}"}
        created = self._ok(
            self.fetch.post(
                self.stack["verifier"] + "/api/presentation-requests",
                headers=auth,
                json={"dcql_query": query},
            ),
            "the counter's request",
        )
        consent = wallet.prepare(created["authorization_request"])
        self.console.print("  consent screen:\n    " + consent.text().replace("\n", "\n    "))
        wallet.approve(consent)

        def outcome() -> dict[str, Any] | None:
            response = self.fetch.get(
                self.stack["verifier"] + f"/api/presentation-requests/{created['id']}",
                headers=auth,
            )
            body = self._ok(response, "the counter's result")
            return body if body.get("status") in ("accepted", "refused") else None

        return _retry("the counter's verdict", outcome)

    def show(self, result: dict[str, Any]) -> bool:
        report = result.get("report") or {}
        accepted = bool(report.get("accepted"))
        table = Table(title="counter result: " + ("ACCEPTED" if accepted else "REFUSED"))
        table.add_column("credential")
        table.add_column("check")
        table.add_column("result")
        per_credential = report.get("credentials") or {"": [report]}
        for query_id, reports in per_credential.items():
            for one in reports:
                for check in one.get("checks", []):
                    passed = check.get("passed")
                    text = "ok" if passed else f"{check.get('code')}: {check.get('message')}"
                    table.add_row(query_id, str(check.get("name")), text)
        self.console.print(table)
        disclosed = result.get("disclosed")
        if accepted and disclosed:
            self.console.print(f"  disclosed to the counter: {json.dumps(disclosed)}")
        return accepted

    # --- the story ------------------------------------------------------------------------

    def run(self) -> None:
        with tempfile.TemporaryDirectory(prefix="govid-demo-wallet-") as tmp:
            wallet = self.wallet(Path(tmp))
            try:
                self._story(wallet)
            finally:
                wallet.close()

    def _story(self, wallet: Any) -> None:
        self.say("1. issuance", "The civil and health insurance agencies make offers; the "
                 "citizen's wallet redeems them with the codes sent out of band and checks "
                 "each credential against the ledger before keeping it.")  # fmt: skip
        civil = self.offer("civil", "civil_identity", CIVIL_CLAIMS)
        medical = self.offer("medical", "medical_insurance_card", MEDICAL_CLAIMS)
        wallet.receive(civil["offer_uri"], civil["tx_code"])
        wallet.receive(medical["offer_uri"], medical["tx_code"])
        self.console.print(f"  the wallet holds {len(wallet.credentials())} credentials")

        query = {
            "credentials": [
                {
                    "id": "identity",
                    "format": "dc+sd-jwt",
                    "meta": {"vct_values": [self.vct("civil", "civil_identity")]},
                    "claims": [{"path": ["age_over_18"]}],
                },
                {
                    "id": "insurance",
                    "format": "dc+sd-jwt",
                    "meta": {"vct_values": [self.vct("medical", "medical_insurance_card")]},
                    "claims": [{"path": ["insurance_number"]}],
                },
            ]
        }
        self.say("2. presentation", "A counter asks for 'over 18' and the insurance number, "
                 "nothing else. The citizen sees who asks and what, and approves.")  # fmt: skip
        if not self.show(self.present(wallet, query)):
            raise DemoFailed("the first presentation was refused")

        self.say("3. revocation", "The civil agency revokes the identity (every copy of "
                 "the batch) and publishes its status list on the ledger.")  # fmt: skip
        self.revoke("civil", civil["id"])

        def refused() -> bool | None:
            return True if not self.show(self.present(wallet, query)) else None

        _retry("the refusal of the revoked identity", refused, timeout=90)

        self.say("4. key rotation", "The health insurance agency rotates its signing key "
                 "on the ledger. The card it signed before still verifies.")  # fmt: skip
        self.rotate("medical")
        insurance_only = {"credentials": [query["credentials"][1]]}
        if not self.show(self.present(wallet, insurance_only)):
            raise DemoFailed("the card signed before the rotation was refused")

        self.say("5. audit", "Anyone can replay the whole ledger: every rule, every "
                 "checkpoint root, every witness cosignature.")  # fmt: skip
        self.audit()

    def revoke(self, slug: str, offer_id: str) -> None:
        auth = {"authorization": f"Bearer {self.agency_token(slug)}"}
        url = self.stack["issuers"][slug]["url"]
        listed = self._ok(
            self.fetch.get(url + "/api/credentials", params={"offer": offer_id}, headers=auth),
            "the agency's credential search",
        )["credentials"]
        self._ok(
            self.fetch.post(url + f"/api/credentials/{listed[0]['id']}/revoke", headers=auth),
            "the revocation",
        )
        self._ok(self.fetch.post(url + "/api/status-lists/publish", headers=auth), "publication")
        self.console.print(f"  revoked {len(listed)} copies; the new list is on the ledger")

    def rotate(self, slug: str) -> None:
        from issuer.agencies import rotate_agency_key
        from issuer.api.app import build_context
        from issuer.settings import load_settings

        secrets = json.loads((self.data / "secrets.json").read_text())
        settings = load_settings(self.data / f"issuer-{slug}", kek=secrets["issuer_kek"])
        ctx = build_context(settings)
        try:
            kid = rotate_agency_key(ctx, slug=slug)
        finally:
            ctx.engine.dispose()
        self.console.print(f"  new signing key: {kid}")

    def audit(self) -> None:
        from registry.audit import audit_registry, render_report
        from registry.cosignature import WitnessVerifier
        from registry.policy import WitnessPolicy

        # The keys come from stack.json, not from the registry: the audit
        # checks every checkpoint's cosignatures against the witnesses' own keys.
        keys = self.stack["ledger"]
        witnesses = [WitnessVerifier.from_vkey(v) for v in keys["witness_vkeys"]]
        report = audit_registry(
            self.stack["registry"],
            log_vkey=keys["log_vkey"],
            policy=WitnessPolicy(witnesses, keys["quorum"]),
            client=self.http,
            witnesses=witnesses,
        )
        self.console.print(render_report(report))
        if not report.ok:
            raise DemoFailed("the audit found violations")


def run_demo(data: Path) -> None:
    console = Console()
    demo = Demo(data, console)
    try:
        demo.run()
    except GovidError:
        raise
    finally:
        demo.http.close()
    console.print("[bold green]The demo completed.[/bold green]")
