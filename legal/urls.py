"""Mounted at the site root by config/urls.py: path("", include("legal.urls"))."""

from django.urls import path

from legal import views

app_name = "legal"

urlpatterns = [
    path("impressum/", views.impressum, name="impressum"),
    path("datenschutz/", views.privacy, name="privacy"),
    path("barrierefreiheit/", views.accessibility, name="accessibility"),
]
