"""What Django itself answers for a refused request, a missing page or a crash: JSON in the API's shape under /api/,
Django's pages elsewhere."""

import requests
from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.test import Client, RequestFactory
from django.utils import translation

from accounts.api_tokens import api_token_create
from config import error_views
from lending.models import ReservationEvent


def test_a_missing_api_path_is_a_json_404(db):
    response = Client().get("/api/v1/gibt-es-nicht/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "not_found" and set(response.json()) == {"code", "detail", "fields"}


def test_a_missing_page_stays_html(db):
    response = Client().get("/gibt-es-nicht/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_a_crash_under_api_answers_json_and_elsewhere_html():
    api = error_views.server_error(RequestFactory().get("/api/v1/reservations/"))
    page = error_views.server_error(RequestFactory().get("/buchungen/"))
    assert (api.status_code, api["Content-Type"]) == (500, "application/json")
    assert b'"code": "server_error"' in api.content
    assert page.status_code == 500 and page["Content-Type"].startswith("text/html")


def test_the_schema_and_the_docs_ignore_any_token(db):
    for path in ("/api/schema/", "/api/docs/"):
        assert Client().get(path, HTTP_AUTHORIZATION="Bearer tv_falsch").status_code == 200


def oversized_json():
    return b'{"code": "' + b"A" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1) + b'"}'


def test_an_api_body_over_the_upload_limit_is_a_json_413(live_server, clerk, location):
    _, token = api_token_create(user=clerk, name="Scanner", scope="write")

    response = requests.post(f"{live_server.url}/api/v1/counter/scan/", data=oversized_json(), timeout=30,
                             headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                                      "Accept-Language": "de"})

    assert (response.status_code, response.headers["Content-Type"]) == (413, "application/json")
    assert response.json() == {"code": "too_large", "detail": "Der Inhalt der Anfrage ist zu groß.", "fields": {}}
    assert ReservationEvent.objects.count() == 0


def test_a_malformed_api_request_is_a_json_400_and_a_page_stays_html(db):
    api = error_views.bad_request(RequestFactory().get("/api/v1/reservations/"), SuspiciousOperation("Host"))
    page = Client().post("/konto/login/", data=oversized_json(), content_type="application/x-www-form-urlencoded")

    assert (api.status_code, api["Content-Type"]) == (400, "application/json")
    assert b'"code": "bad_request"' in api.content
    assert page.status_code == 400 and page["Content-Type"].startswith("text/html")


def test_a_missing_page_is_ours_in_the_visitors_language(db):
    german = Client().get("/gibt-es-nicht/")
    assert german.status_code == 404
    page = german.content.decode()
    assert '<html lang="de">' in page and "Seite nicht gefunden" in page and 'class="site-header"' in page
    english = Client(headers={"Accept-Language": "en"}).get("/gibt-es-nicht/")
    assert english.status_code == 404
    assert '<html lang="en">' in english.content.decode() and "Page not found" in english.content.decode()


def test_a_crash_page_needs_no_request_and_speaks_german():
    with translation.override("de"):  # as LocaleMiddleware leaves it for a German visitor
        page = error_views.server_error(RequestFactory().get("/buchungen/"))
    assert page.status_code == 500
    assert '<html lang="de">' in page.content.decode() and "Etwas ist schiefgegangen" in page.content.decode()
