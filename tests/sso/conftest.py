"""A real OpenID Connect provider for the sign-in tests: tests/sso/provider/server.mjs (panva's
`oidc-provider` from npm, a devDependency) in its own Node process on 127.0.0.1.

- ``oidc_provider`` (session): starts the provider with the client ``technikverleih`` and the
  accounts in ACCOUNTS; yields an ``OidcProvider`` (issuer, client_id, secret, accounts). Without
  `node` or the npm package the tests are skipped, unless REQUIRE_SSO=1 or REQUIRE_BROWSER=1 is set
  (as in CI): then they fail.
- ``oidc_settings`` (function): ``oidc_settings(entry, ...)`` configures those OIDC_PROVIDERS entries
  (see tests/sso/driver.py ``oidc_provider_setting``) for one test; without arguments, the provider
  as VIDIS (provider id "vidis", mapping "vidis").
- ``vidis`` (function): the provider, configured as VIDIS for this test.

Sign in with ``tests.sso.driver.sign_in(client, vidis, login="lehrkraft")``; the provider's login
page accepts every login name in ACCOUNTS, with any password.
"""

import dataclasses
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from django.urls import reverse

from tests.sso.driver import apply_oidc_providers, oidc_provider_setting

REPO = Path(__file__).resolve().parents[2]
SERVER = Path(__file__).resolve().parent / "provider" / "server.mjs"
PACKAGE = REPO / "node_modules" / "oidc-provider" / "package.json"
STARTUP_TIMEOUT = 20  # seconds
# oidc-provider 9 uses crypto.hash (Node.js 20.12; it recommends 22 LTS and warns on 20).
NODE_MINIMUM = (20, 12)

ISSUER_PATH = "/realms/vidis"  # VIDIS is a Keycloak realm: its issuer has a path
CLIENT_ID = "technikverleih"
CLIENT_SECRET = "test-only-client-secret"
# Django provider ids the client may be configured under, so one provider serves every mapping.
PROVIDER_IDS = ("vidis", "iserv", "generic")
# Django's test client is http://testserver; the live server of the browser tests is
# http://127.0.0.1:<free port> (the provider lets a registered http://127.0.0.1/... match any port).
PORTAL_ORIGINS = ("http://testserver", "http://127.0.0.1")

KNOWN_SCHOOL = "NW-100001"  # give a School this sso_id to make it known
SECOND_SCHOOL = "NW-100002"
PSEUDONYM = "5f0c8a3e-2b7d-4c1e-9a64-3d8e1f7b2c90@vidis.schule"

# Login name -> the claims the provider releases (`sub` is the account's key). VIDIS sends `rolle`,
# `schulkennung` (a string or a list) and `bundesland`; IServ sends `roles` and no school.
ACCOUNTS = {
    # fmt: off
    "lehrkraft":         {"sub": "vidis-0001", "rolle": "LEHR", "schulkennung": KNOWN_SCHOOL, "bundesland": "NW",
                          "given_name": "Lena", "family_name": "Lehmann", "email": "lena.lehmann@schule.example"},
    "schulleitung":      {"sub": "vidis-0002", "rolle": "LEIT", "schulkennung": KNOWN_SCHOOL, "bundesland": "NW",
                          "given_name": "Sven", "family_name": "Schulz", "email": "sven.schulz@schule.example"},
    "zwei_schulen":      {"sub": "vidis-0003", "rolle": "LEHR", "schulkennung": [KNOWN_SCHOOL, SECOND_SCHOOL],
                          "bundesland": "NW", "given_name": "Zoe", "family_name": "Zweig",
                          "email": "zoe.zweig@schule.example"},
    "schueler":          {"sub": "vidis-0004", "rolle": "LERN", "schulkennung": KNOWN_SCHOOL, "bundesland": "NW",
                          "given_name": "Sam", "family_name": "Schneider", "email": "sam.schneider@schule.example"},
    "extern":            {"sub": "vidis-0005", "rolle": "EXTERN", "schulkennung": KNOWN_SCHOOL, "bundesland": "NW",
                          "given_name": "Erik", "family_name": "Extern", "email": "erik.extern@firma.example"},
    "unbekannte_schule": {"sub": "vidis-0006", "rolle": "LEHR", "schulkennung": "NW-999999", "bundesland": "NW",
                          "given_name": "Uwe", "family_name": "Unger", "email": "uwe.unger@schule.example"},
    "anderes_land":      {"sub": "vidis-0007", "rolle": "LEHR", "schulkennung": "BY-200001", "bundesland": "BY",
                          "given_name": "Bea", "family_name": "Bauer", "email": "bea.bauer@schule.example"},
    "ohne_rolle":        {"sub": "vidis-0008", "schulkennung": KNOWN_SCHOOL, "bundesland": "NW",
                          "given_name": "Olaf", "family_name": "Ohnrolle", "email": "olaf.ohnrolle@schule.example"},
    "ohne_schule":       {"sub": "vidis-0009", "rolle": "LEHR", "bundesland": "NW",
                          "given_name": "Olga", "family_name": "Ohnschule", "email": "olga.ohnschule@schule.example"},
    "schule_als_text":   {"sub": "vidis-0010", "rolle": "LEHR", "schulkennung": KNOWN_SCHOOL, "bundesland": "NW",
                          "given_name": "Tina", "family_name": "Text", "email": "tina.text@schule.example"},
    "schule_als_liste":  {"sub": "vidis-0011", "rolle": "LEHR", "schulkennung": [KNOWN_SCHOOL], "bundesland": "NW",
                          "given_name": "Lars", "family_name": "Liste", "email": "lars.liste@schule.example"},
    "pseudonym":         {"sub": "vidis-0012", "rolle": "LEHR", "schulkennung": KNOWN_SCHOOL, "bundesland": "NW",
                          "given_name": "Paula", "family_name": "Pseudo", "email": PSEUDONYM},
    "iserv_lehrkraft":   {"sub": "iserv-0001", "roles": ["teacher"], "preferred_username": "ines.iserv",
                          "given_name": "Ines", "family_name": "Iserv", "email": "ines.iserv@gym-park.example"},
    "iserv_schueler":    {"sub": "iserv-0002", "roles": ["student"], "preferred_username": "ivo.iserv",
                          "given_name": "Ivo", "family_name": "Iserv", "email": "ivo.iserv@gym-park.example"},
    # fmt: on
}


@dataclasses.dataclass(frozen=True)
class OidcProvider:
    issuer: str
    client_id: str
    secret: str
    accounts: dict  # login name -> claims, as in ACCOUNTS
    log: Path  # the provider's output, for debugging a failed sign-in

    @property
    def discovery_url(self):
        return f"{self.issuer}/.well-known/openid-configuration"

    def sub(self, login):
        return self.accounts[login]["sub"]


def _sso_required():
    return any(
        os.environ.get(name, "").strip().lower() in {"1", "true", "yes"} for name in ("REQUIRE_SSO", "REQUIRE_BROWSER")
    )


def _no_provider(reason):
    if _sso_required():
        pytest.fail(f"{reason} (REQUIRE_SSO or REQUIRE_BROWSER is set, so this is an error, not a skip)", pytrace=False)
    pytest.skip(f"{reason}; needs Node.js 20.12 or later and `npm ci` (as `make test` runs it); "
                "set REQUIRE_SSO=1 to fail instead")


def _provider_config():
    callbacks = [reverse("openid_connect_callback", kwargs={"provider_id": pid}) for pid in PROVIDER_IDS]
    after_logout = sorted({"/", *(reverse(name) for name in ("frontend:catalogue", "account_login"))})
    return {
        "port": 0,
        "issuer_path": ISSUER_PATH,
        "clients": [
            {
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "client_name": "Technikverleih (Test)",
                "redirect_uris": [origin + path for origin in PORTAL_ORIGINS for path in callbacks],
                "post_logout_redirect_uris": [origin + path for origin in PORTAL_ORIGINS for path in after_logout],
            }
        ],
        "accounts": ACCOUNTS,
    }


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory):
    node = shutil.which("node")
    if node is None:
        _no_provider("Node.js (`node`) is not installed")
    version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
    if tuple(int(part) for part in version.lstrip("v").split(".")[:2]) < NODE_MINIMUM:
        minimum = ".".join(map(str, NODE_MINIMUM))
        _no_provider(f"Node.js {version} is too old for oidc-provider (needs {minimum} or later)")
    if not PACKAGE.exists():
        _no_provider(f"the npm package oidc-provider is not installed ({PACKAGE} is missing)")

    # allauth talks to the provider with `requests`, which would honour a proxy from the environment
    # (it reads no_proxy first, then NO_PROXY).
    no_proxy = os.environ.get("no_proxy") or os.environ.get("NO_PROXY") or ""
    if "127.0.0.1" not in no_proxy.split(","):
        os.environ["no_proxy"] = ",".join(filter(None, [no_proxy, "127.0.0.1"]))

    folder = tmp_path_factory.mktemp("oidc-provider")
    config_path = folder / "config.json"
    config_path.write_text(json.dumps(_provider_config(), indent=2))
    log = folder / "provider.log"
    with log.open("wb") as output:
        # Standard input stays open as a lifeline: the provider exits when it closes.
        process = subprocess.Popen(
            [node, str(SERVER), str(config_path)],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        issuer = _wait_until_ready(process, log)
        yield OidcProvider(issuer=issuer, client_id=CLIENT_ID, secret=CLIENT_SECRET, accounts=ACCOUNTS, log=log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdin.close()


def _wait_until_ready(process, log):
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        for line in log.read_text(errors="replace").splitlines():
            if line.startswith("READY "):
                return line.removeprefix("READY ").strip()
        if process.poll() is not None:
            pytest.fail(f"the OpenID Connect provider exited ({process.returncode}):\n{log.read_text()}", pytrace=False)
        time.sleep(0.05)
    pytest.fail(f"the OpenID Connect provider did not start in {STARTUP_TIMEOUT} s:\n{log.read_text()}", pytrace=False)


@pytest.fixture
def oidc_settings(settings, oidc_provider):
    """``oidc_settings(*entries)`` configures these OIDC_PROVIDERS (default: the provider as VIDIS)."""

    def configure(*entries):
        apply_oidc_providers(settings, entries or [oidc_provider_setting(oidc_provider)])
        return oidc_provider

    return configure


@pytest.fixture
def vidis(oidc_settings):
    """The test provider, configured as VIDIS (provider id "vidis") for this test."""
    return oidc_settings()
