"""Sign in through the real test provider at the HTTP level: Django's test client on one side, the
provider's own pages (driven with `requests`) on the other. Nothing of the exchange is mocked:
allauth fetches the discovery document, exchanges the code (with the PKCE verifier) and reads
userinfo from the provider process over real HTTP.

- ``oidc_provider_setting(provider, ...)``: one OIDC_PROVIDERS entry for the running provider.
- ``apply_oidc_providers(settings, entries)``: puts entries into pytest-django's ``settings`` and
  rebuilds SOCIALACCOUNT_PROVIDERS from them, as config/settings.py does.
- ``sign_in(client, provider, login="lehrkraft")``: the whole sign-in; returns a ``SignIn``.
- ``end_provider_session(sign_in_result.browser, url)``: follows the portal's redirect to the
  provider's end-session endpoint and confirms the sign-out there.
"""

import dataclasses
import secrets
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit, urlunsplit

import requests
from django.urls import reverse

from accounts.sso_settings import socialaccount_providers

# `tamper` values for sign_in (a callable that rewrites the callback URL works too)
FORGED_STATE = "forged_state"  # the callback arrives with a state the portal never issued
REPLAY = "replay"  # the callback URL is requested a second time; that second response is returned

TIMEOUT = 10  # seconds, for each request to the provider
MAX_STEPS = 10  # redirects and forms at the provider before giving up


def oidc_provider_setting(provider, *, provider_id="vidis", name="VIDIS", mapping="vidis", **overrides):
    """One entry of settings.OIDC_PROVIDERS for the running test provider (the ``oidc_provider`` fixture)."""
    return {
        "id": provider_id,
        "name": name,
        "issuer": provider.issuer,
        "client_id": provider.client_id,
        "secret": provider.secret,
        "mapping": mapping,
        **overrides,
    }


def apply_oidc_providers(settings, entries):
    """Configure these providers on pytest-django's ``settings`` fixture (undone after the test)."""
    entries = list(entries)
    settings.OIDC_PROVIDERS = entries
    settings.SOCIALACCOUNT_PROVIDERS = socialaccount_providers(entries)


@dataclasses.dataclass
class SignIn:
    response: object  # the portal's response to the (last) callback request
    client: object  # Django's test client, now carrying the portal session
    browser: requests.Session  # the provider's cookies: its session, for signing out there
    authorize_url: str  # where the portal sent the browser
    callback_url: str  # path and query of the callback as requested (after any tampering)
    first_response: object = None  # with tamper=REPLAY: the response to the genuine callback

    @property
    def session(self):
        return self.client.session

    @property
    def signed_in(self):
        return "_auth_user_id" in self.client.session


def sign_in(client, provider, *, login, provider_id="vidis", tamper=None, password="beliebig", browser=None):
    """Sign in as the provider account ``login`` (a key of ``provider.accounts``).

    Starts with a POST to allauth's login URL, checks that the portal asks for PKCE (S256) and
    sends a state, signs in on the provider's login page, consents, and delivers the provider's
    redirect to the portal's callback with ``client``. ``tamper`` is FORGED_STATE, REPLAY or a
    function that rewrites the callback's path and query before it is requested. ``browser``: the
    ``browser`` of an earlier SignIn, to come back with the provider's session (no login page
    then, unless that session has ended).
    """
    start = client.post(reverse("openid_connect_login", kwargs={"provider_id": provider_id}))
    assert start.status_code == 302, f"sign-in did not redirect to the provider: {start.status_code}"
    authorize_url = start["Location"]
    assert authorize_url.startswith(provider.issuer + "/"), authorize_url
    query = parse_qs(urlsplit(authorize_url).query)
    assert query.get("code_challenge_method") == ["S256"], query
    assert query.get("code_challenge", [""])[0], query
    assert query.get("state", [""])[0], query
    assert query.get("response_type") == ["code"], query

    if browser is None:
        browser = requests.Session()
        browser.trust_env = False  # never through a proxy: the provider is on 127.0.0.1
    callback = _authorize(browser, provider, authorize_url, login=login, password=password)

    callback_url = _path_and_query(callback)
    first_response = None
    if tamper == FORGED_STATE:
        callback_url = _with_query(callback_url, state=secrets.token_urlsafe(12))
    elif tamper == REPLAY:
        first_response = client.get(callback_url)
    elif callable(tamper):
        callback_url = tamper(callback_url)
    elif tamper is not None:
        raise ValueError(f"unknown tamper: {tamper!r}")
    response = client.get(callback_url)
    return SignIn(
        response=response,
        client=client,
        browser=browser,
        authorize_url=authorize_url,
        callback_url=callback_url,
        first_response=first_response,
    )


def end_provider_session(browser, end_session_url):
    """Sign out at the provider: open its end-session URL (as the portal redirected there, with
    id_token_hint and post_logout_redirect_uri) in ``browser`` and confirm, as the page's script
    would. Returns where the provider sends the browser afterwards (the post-logout redirect URI
    with its state), or None when it shows its own "signed out" page."""
    response = browser.get(end_session_url, allow_redirects=False, timeout=TIMEOUT)
    for _step in range(MAX_STEPS):
        if response.is_redirect:
            location = urljoin(response.url, response.headers["Location"])
            if not _same_origin(location, end_session_url):
                return location
            response = browser.get(location, allow_redirects=False, timeout=TIMEOUT)
            continue
        _raise_for_provider_error(response)
        forms = _forms(response)
        logout_form = next((form for form in forms if form.id == "op.logoutForm"), None)
        if logout_form is None:
            return None  # the provider's own "signed out" page
        data = {**logout_form.fields, "logout": "yes"}
        response = browser.post(
            urljoin(response.url, logout_form.action), data=data, allow_redirects=False, timeout=TIMEOUT
        )
    raise AssertionError(f"the provider's sign-out did not finish within {MAX_STEPS} steps")


def _authorize(browser, provider, authorize_url, *, login, password):
    """Drive the provider from its authorization URL to the redirect back to the portal."""
    response = browser.get(authorize_url, allow_redirects=False, timeout=TIMEOUT)
    for _step in range(MAX_STEPS):
        if response.is_redirect:
            location = urljoin(response.url, response.headers["Location"])
            if not _same_origin(location, provider.issuer):
                return location  # back to the portal: the callback
            response = browser.get(location, allow_redirects=False, timeout=TIMEOUT)
            continue
        _raise_for_provider_error(response)
        forms = {form.id: form for form in _forms(response)}
        if "login-form" in forms:
            form, data = forms["login-form"], {"login": login, "password": password}
            if "Kennung oder Passwort falsch" in response.text:
                raise AssertionError(f"the provider does not know the login {login!r}")
        elif "consent-form" in forms:
            form, data = forms["consent-form"], {"consent": "yes"}
        else:
            raise AssertionError(f"unexpected page at the provider ({response.url}):\n{response.text[:2000]}")
        response = browser.post(
            urljoin(response.url, form.action),
            data={**form.fields, **data},
            allow_redirects=False,
            timeout=TIMEOUT,
        )
    raise AssertionError(f"the provider did not redirect back within {MAX_STEPS} steps")


def _raise_for_provider_error(response):
    if response.status_code >= 400:
        raise AssertionError(f"the provider answered {response.status_code} at {response.url}:\n{response.text[:2000]}")


def _same_origin(url, other):
    first, second = urlsplit(url), urlsplit(other)
    return (first.scheme, first.netloc) == (second.scheme, second.netloc)


def _path_and_query(url):
    parts = urlsplit(url)
    return urlunsplit(("", "", parts.path, parts.query, ""))


def _with_query(url, **replace):
    parts = urlsplit(url)
    query = {key: values[-1] for key, values in parse_qs(parts.query, keep_blank_values=True).items()}
    query.update(replace)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


@dataclasses.dataclass
class _Form:
    id: str
    action: str
    fields: dict  # hidden inputs (name -> value)


class _FormParser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append(_Form(id=attrs.get("id") or "", action=attrs.get("action") or "", fields={}))
        elif tag == "input" and self.forms and attrs.get("type") == "hidden" and attrs.get("name"):
            self.forms[-1].fields[attrs["name"]] = attrs.get("value") or ""


def _forms(response):
    parser = _FormParser()
    parser.feed(response.text)
    return parser.forms
