"""What Django itself answers for a missing page or a crash: JSON in the API's shape under /api/,
Django's pages elsewhere."""

from django.test import Client, RequestFactory

from config import error_views


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
