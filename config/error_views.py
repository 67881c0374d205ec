"""What a request gets when Django itself answers 404 or 500: under /api/ the API's one error
shape as JSON (a script parses it), elsewhere Django's own pages."""

from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults

API_PREFIX = "/api/"


def not_found(request, exception=None):
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"code": "not_found", "detail": _("Not found."), "fields": {}}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"code": "server_error", "detail": _("Something went wrong on our side."),
                             "fields": {}}, status=500)
    return defaults.server_error(request)
