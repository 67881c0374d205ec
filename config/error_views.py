"""What a request gets when Django itself answers 400, 404 or 500: under /api/ the API's one error
shape as JSON (a script parses it), elsewhere Django's own pages."""

from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults

API_PREFIX = "/api/"


def bad_request(request, exception=None):
    """Django refuses a request before any view could (a body over DATA_UPLOAD_MAX_MEMORY_SIZE,
    too many form fields, a forged Host header)."""
    if request.path.startswith(API_PREFIX):
        if isinstance(exception, RequestDataTooBig):
            return JsonResponse({"code": "too_large", "detail": _("The request body is too large."),
                                 "fields": {}}, status=413)
        return JsonResponse({"code": "bad_request", "detail": _("The request is malformed."), "fields": {}},
                            status=400)
    return defaults.bad_request(request, exception)


def not_found(request, exception=None):
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"code": "not_found", "detail": _("Not found."), "fields": {}}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"code": "server_error", "detail": _("Something went wrong on our side."),
                             "fields": {}}, status=500)
    return defaults.server_error(request)
