"""Content-Security-Policy and Permissions-Policy on every response (Django 5.2 has neither).

The policy lets a page use only what the portal itself serves: no inline script or style
anywhere (our templates carry none, the API docs are served as Swagger UI's split view from our
static files, the admin's templates have none), images also as `data:` URIs (allauth draws the
one-time-code QR code as one), forms posted only to us and to the schools' sign-on providers
(Chromium applies `form-action` to the redirect that follows a post, and signing in and out
both post here and are redirected there), and no page framed by another.

The counter pages (under /theke/) differ in two things: the camera scanner's decoder is
WebAssembly (zxing-wasm), which a browser compiles only with `'wasm-unsafe-eval'`, and they use
the camera. Everywhere else both stay off, so a script injected into a teacher's page could
neither compile WebAssembly nor open the camera.

With DEBUG on, the policy is sent as Content-Security-Policy-Report-Only: the browser console
still names every violation, but Django's debug pages (inline styles and script) stay readable.
"""

from functools import lru_cache
from urllib.parse import urlsplit

from django.conf import settings

# frontend/urls.py: every counter page lives under it (a test keeps the two in step).
COUNTER_PREFIX = "/theke/"

PAGE_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}
COUNTER_POLICY = {**PAGE_POLICY, "script-src": ["'self'", "'wasm-unsafe-eval'"]}
# Chromium shows a PDF through its viewer, a plugin that `object-src 'none'` (and a strict
# `default-src`) would refuse; our PDFs (loan slips, label sheets) carry no script, so they only
# keep other sites from framing them.
PDF_POLICY = "frame-ancestors 'none'"

# Features no page of the portal uses; a feature Chromium does not know would be reported in
# the console, so only widely implemented ones are named.
FEATURES_OFF = [
    "accelerometer", "display-capture", "geolocation", "gyroscope", "hid", "magnetometer",
    "microphone", "midi", "payment", "serial", "usb", "xr-spatial-tracking",
]


def permissions_policy(*, camera):
    features = {name: "()" for name in FEATURES_OFF} | {"camera": "(self)" if camera else "()"}
    return ", ".join(f"{name}={allowed}" for name, allowed in sorted(features.items()))


PAGE_PERMISSIONS = permissions_policy(camera=False)
COUNTER_PERMISSIONS = permissions_policy(camera=True)


@lru_cache(maxsize=8)
def content_security_policy(*, counter, sign_on_origins):
    policy = COUNTER_POLICY if counter else PAGE_POLICY
    policy = {**policy, "form-action": [*policy["form-action"], *sign_on_origins]}
    return "; ".join(f"{directive} {' '.join(sources)}" for directive, sources in policy.items())


def sign_on_origins():
    """The origins of the OIDC_PROVIDERS' issuers, where signing in and out is redirected."""
    origins = []
    for provider in settings.OIDC_PROVIDERS:
        parts = urlsplit(provider["issuer"])
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in origins:
            origins.append(origin)
    return tuple(origins)


class SecurityHeadersMiddleware:
    """Sets both headers unless the view set its own (settings.MIDDLEWARE, right after Django's
    SecurityMiddleware, so the static files served by WhiteNoise get them too)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        counter = request.path.startswith(COUNTER_PREFIX)
        header = "Content-Security-Policy-Report-Only" if settings.DEBUG else "Content-Security-Policy"
        if response.get("Content-Type", "").startswith("application/pdf"):
            policy = PDF_POLICY
        else:
            policy = content_security_policy(counter=counter, sign_on_origins=sign_on_origins())
        response.headers.setdefault(header, policy)
        response.headers.setdefault("Permissions-Policy", COUNTER_PERMISSIONS if counter else PAGE_PERMISSIONS)
        return response
