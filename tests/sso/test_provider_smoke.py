"""The test provider works and a sign-in goes through it end to end (the claim cases are elsewhere)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from allauth.socialaccount.models import SocialAccount

from accounts.sso_settings import socialaccount_providers
from tests import factories
from tests.sso.conftest import ACCOUNTS, CLIENT_ID, CLIENT_SECRET, KNOWN_SCHOOL, OidcProvider
from tests.sso.driver import oidc_provider_setting, sign_in

REPO = Path(__file__).resolve().parents[2]


def test_discovery_offers_pkce_s256_and_an_end_session_endpoint(oidc_provider):
    response = requests.get(oidc_provider.discovery_url, timeout=10)

    assert response.status_code == 200
    discovery = response.json()
    assert discovery["issuer"] == oidc_provider.issuer
    assert discovery["code_challenge_methods_supported"] == ["S256"]
    assert discovery["end_session_endpoint"].startswith(oidc_provider.issuer + "/")
    assert {"rolle", "schulkennung", "bundesland", "roles"} <= set(discovery["claims_supported"])


def test_every_account_has_its_own_sub():
    subs = [claims["sub"] for claims in ACCOUNTS.values()]

    assert len(subs) == len(set(subs))


@pytest.mark.django_db
def test_the_exchange_delivers_the_claims_in_id_token_and_userinfo(client, vidis, settings):
    # allauth's own adapters, not the portal's claim mapping: this checks the provider and the
    # driver alone (code exchange with PKCE, ID token signature, userinfo).
    settings.ACCOUNT_ADAPTER = "allauth.account.adapter.DefaultAccountAdapter"
    settings.SOCIALACCOUNT_ADAPTER = "allauth.socialaccount.adapter.DefaultSocialAccountAdapter"

    result = sign_in(client, vidis, login="zwei_schulen")

    assert result.signed_in
    account = SocialAccount.objects.get()
    assert (account.provider, account.uid) == ("vidis", vidis.sub("zwei_schulen"))
    for part in ("id_token", "userinfo"):
        claims = account.extra_data[part]
        assert claims["rolle"] == "LEHR"
        assert claims["schulkennung"] == ["NW-100001", "NW-100002"]
        assert claims["bundesland"] == "NW"
        assert claims["email"] == "zoe.zweig@schule.example"


@pytest.mark.django_db
def test_a_teacher_of_a_known_school_signs_in_through_the_provider(client, vidis):
    # DEPENDS ON THE PORTAL'S CLAIM MAPPING (accounts/adapters.py, accounts/sso.py). The OpenID
    # Connect exchange alone is checked above with allauth's own adapters: when that test passes
    # and this one fails inside the portal's callback, the mapping is at fault, not the provider.
    factories.make_school(name="Gymnasium am Park", sso_id=KNOWN_SCHOOL)

    result = sign_in(client, vidis, login="lehrkraft")

    assert result.response.status_code == 302
    assert result.signed_in, f"not signed in; the portal answered {result.response.status_code}"


def test_settings_build_socialaccount_providers_as_sso_settings_does():
    # config/settings.py must build SOCIALACCOUNT_PROVIDERS exactly as the tests do (apply_oidc_providers).
    provider = OidcProvider(issuer="http://127.0.0.1:9/realms/vidis/", client_id=CLIENT_ID, secret=CLIENT_SECRET,
                            accounts=ACCOUNTS, log=None)
    entries = [
        oidc_provider_setting(provider),
        oidc_provider_setting(provider, provider_id="iserv", name="IServ", mapping="iserv", fetch_userinfo=False),
    ]
    environment = {
        **os.environ, "DEBUG": "true", "SECRET_KEY": "test-only-secret", "OIDC_PROVIDERS": json.dumps(entries)
    }
    environment.pop("DJANGO_SETTINGS_MODULE", None)
    script = "import json; from config import settings; print(json.dumps(settings.SOCIALACCOUNT_PROVIDERS))"

    output = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, env=environment, capture_output=True, text=True, check=True
    ).stdout

    assert json.loads(output) == socialaccount_providers(entries)
