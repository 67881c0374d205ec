"""HTTPS, HSTS, Content-Security-Policy and Permissions-Policy (config/security_headers.py and the
settings block "HTTPS and security headers"); the browser side is tests/e2e/test_security_headers.py."""

import datetime
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from config.security_headers import COUNTER_PREFIX
from lending.services import handover_assign_unit, handover_complete
from tests import factories

BASE_DIR = Path(settings.BASE_DIR)


def policy(response, header="Content-Security-Policy"):
    """The policy as {directive: [sources]}."""
    return {name: sources for name, *sources in (part.split() for part in response[header].split(";"))}


def permissions(response):
    return dict(part.strip().split("=") for part in response["Permissions-Policy"].split(","))


# Content-Security-Policy ------------------------------------------------------------------------


def test_a_page_may_use_only_what_the_portal_serves(db, client):
    csp = policy(client.get("/"))

    assert csp == {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }


def test_only_the_counter_pages_may_compile_the_cameras_webassembly(client, clerk, location):
    client.force_login(clerk)
    counter = client.get(f"/theke/{location.slug}/")
    catalogue = client.get("/")

    assert counter.status_code == 200
    assert policy(counter)["script-src"] == ["'self'", "'wasm-unsafe-eval'"]
    assert "'wasm-unsafe-eval'" not in catalogue["Content-Security-Policy"]
    assert reverse("frontend:counter_index") == COUNTER_PREFIX


def test_no_response_allows_inline_script_or_style(client, clerk, location, admin_user):
    client.force_login(admin_user)
    for path in ("/", f"/theke/{location.slug}/", "/admin/", "/api/docs/", "/api/v1/item-types/",
                 "/static/frontend/site.css", "/gibt-es-nicht/"):
        response = client.get(path)
        assert response.status_code in (200, 404), path
        assert "unsafe-inline" not in response["Content-Security-Policy"], path
        assert "unsafe-eval'" not in response["Content-Security-Policy"].replace("'wasm-unsafe-eval'", ""), path


def test_signing_in_and_out_may_be_sent_on_to_the_sign_on_providers(db, client, settings):
    settings.OIDC_PROVIDERS = [
        {"id": "vidis", "name": "VIDIS", "issuer": "https://aai.vidis.schule/auth/realms/vidis", "client_id": "x"},
        {"id": "iserv", "name": "IServ", "issuer": "https://gym-am-park.de:8443/iserv/oidc", "client_id": "y"},
    ]

    assert policy(client.get("/konto/login/"))["form-action"] == [
        "'self'", "https://aai.vidis.schule", "https://gym-am-park.de:8443",
    ]


def test_a_pdf_keeps_its_viewer_but_cannot_be_framed(client, clerk, location, school_a, teacher_a, item_type):
    today = timezone.localdate()
    booking = factories.make_reservation(location=location, school=school_a, borrower=teacher_a, lines={item_type: 1},
                                         pickup_day=today, return_day=today + datetime.timedelta(days=7))
    handover_assign_unit(reservation=booking, unit=item_type.units.first(), actor=clerk)
    handover_complete(reservation=booking, actor=clerk)
    client.force_login(clerk)

    slip = client.get(f"/theke/{location.slug}/buchung/{booking.code}/leihschein.pdf")

    assert slip["Content-Type"] == "application/pdf"
    assert slip["Content-Security-Policy"] == "frame-ancestors 'none'"


def test_in_development_the_policy_only_reports(db, client, settings):
    settings.DEBUG = True
    response = client.get("/")

    assert "Content-Security-Policy" not in response
    assert policy(response, "Content-Security-Policy-Report-Only")["script-src"] == ["'self'"]


def test_our_templates_carry_no_inline_script_style_or_event_handler():
    inline = re.compile(r"<style|\sstyle=|<script(?![^>]*\ssrc=)(?![^>]*type=\"application/json\")|\son[a-z]+=|javascript:",
                        re.IGNORECASE)
    templates = [path for app in ("frontend", "accounts", "catalog", "lending", "legal")
                 for path in (BASE_DIR / app / "templates").rglob("*.html")]
    assert len(templates) > 40
    found = [f"{path.relative_to(BASE_DIR)}: {match.group()}" for path in templates
             for match in inline.finditer(path.read_text())]
    assert found == []


def test_the_api_docs_load_their_script_as_a_file_and_nothing_from_elsewhere(db, client):
    page = client.get("/api/docs/").content.decode()
    script_url = re.search(r'<script src="([^"]*\?script=[^"]*)"', page).group(1)
    script = client.get(script_url.replace("&amp;", "&"))

    assert "<style" not in page and re.search(r"<script>", page) is None
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle(" in script.content.decode()
    # Swagger UI would otherwise show a badge from validator.swagger.io.
    assert '"validatorUrl": null' in script.content.decode()


# Permissions-Policy -----------------------------------------------------------------------------


def test_no_page_may_use_the_camera_microphone_location_or_payment(db, client):
    allowed = permissions(client.get("/"))

    assert {allowed[feature] for feature in ("camera", "microphone", "geolocation", "payment", "usb")} == {"()"}


def test_the_counter_pages_may_use_the_camera_of_their_own_origin_only(client, clerk, location):
    client.force_login(clerk)
    allowed = permissions(client.get(f"/theke/{location.slug}/buchung/GIBTESNICHT/"))

    assert allowed["camera"] == "(self)"
    assert allowed["microphone"] == "()"


# HTTPS and HSTS ---------------------------------------------------------------------------------


def production_environment(**overrides):
    """The environment of a production server as the README sets it up: .env.example filled in
    (a secret key, a database this machine has), behind a TLS proxy."""
    # Nothing from the test run's own environment (DJANGO_SETTINGS_MODULE, DATABASE_URL, the
    # browser tests' DJANGO_ALLOW_ASYNC_UNSAFE) but the search path for programs.
    environment = {"PATH": os.environ["PATH"]}
    for line in (BASE_DIR / ".env.example").read_text().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            environment[key] = value
    environment.update(SECRET_KEY=secrets.token_urlsafe(50), DATABASE_URL="sqlite:///var/check-deploy.sqlite3",
                       BEHIND_TLS_PROXY="true")
    environment.update(overrides)
    return environment


def https_settings(**environment):
    result = subprocess.run(
        [sys.executable, "-c", "import config.settings as s; "
         "print(s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_HSTS_PRELOAD)"],
        cwd=BASE_DIR, env=production_environment(**environment), capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_check_deploy_finds_nothing_with_the_readmes_production_settings():
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            cwd=BASE_DIR, env=production_environment(), capture_output=True, text=True)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in result.stdout + result.stderr


def test_behind_tls_https_is_enforced_and_remembered_for_a_year():
    assert https_settings() == ["True", "31536000", "False", "False"]
    assert https_settings(BEHIND_TLS_PROXY="false") == ["True", "31536000", "False", "False"]  # SITE_URL https


def test_hsts_can_start_short_and_reach_subdomains_and_the_preload_list_when_asked():
    assert https_settings(SECURE_HSTS_SECONDS="300") == ["True", "300", "False", "False"]
    assert https_settings(SECURE_HSTS_INCLUDE_SUBDOMAINS="true", SECURE_HSTS_PRELOAD="true") == [
        "True", "31536000", "True", "True"]


def test_plain_http_and_development_are_not_redirected():
    assert https_settings(SITE_URL="http://verleih.intern", BEHIND_TLS_PROXY="false") == ["False", "0", "False", "False"]
    assert https_settings(DEBUG="true") == ["False", "0", "False", "False"]


def test_a_negative_hsts_max_age_is_refused():
    result = subprocess.run([sys.executable, "-c", "import config.settings"], cwd=BASE_DIR,
                            env=production_environment(SECURE_HSTS_SECONDS="-1"), capture_output=True, text=True)
    assert result.returncode != 0
    assert "SECURE_HSTS_SECONDS must not be negative" in result.stderr


@pytest.fixture
def behind_tls_proxy(settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000


def test_behind_the_proxy_plain_http_is_redirected_to_https(db, behind_tls_proxy):
    response = Client().get("/artikel/vr-koffer/?monat=2027-04", HTTP_X_FORWARDED_PROTO="http")

    assert response.status_code == 301
    assert response["Location"] == "https://testserver/artikel/vr-koffer/?monat=2027-04"
    assert "Strict-Transport-Security" not in response  # only ever sent over HTTPS


def test_behind_the_proxy_https_is_served_with_hsts(db, behind_tls_proxy):
    response = Client().get("/", HTTP_X_FORWARDED_PROTO="https")

    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == "max-age=31536000"
