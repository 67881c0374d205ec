"""The account page of every signed-in user. Mounted by config/urls.py:
path("konto/profil/", include("frontend.account_urls"))."""

from django.urls import path

from frontend import account_views

app_name = "profile"

urlpatterns = [
    path("", account_views.profile, name="show"),
    path("daten.json", account_views.personal_data, name="data"),
    path("loeschen/", account_views.delete, name="delete"),
    path("api-token/", account_views.api_token_create, name="api_token_create"),
    path("api-token/<int:pk>/widerrufen/", account_views.api_token_revoke, name="api_token_revoke"),
]
