"""The portal's URLs plus `/bench/bare/`: one template, no database, through the same middleware.
Only `config.settings_bench` (manage.py bench_http) routes here; the portal never does."""

from django.shortcuts import render
from django.urls import path

from config.urls import handler404, handler500, urlpatterns as portal_urlpatterns  # noqa: F401


def bare(request):
    return render(request, "bench/bare.html", {"title": "Bare Django view", "items": range(10)})


urlpatterns = [path("bench/bare/", bare, name="bench_bare"), *portal_urlpatterns]
