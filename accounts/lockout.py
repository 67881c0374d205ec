"""The user name django-axes counts failed sign-ins under (settings.AXES_USERNAME_CALLABLE)."""


def login_name(request, credentials=None):
    """The user name or e-mail address someone tried to sign in with, in lower case.

    The credentials axes sees depend on who calls: its own backend passes `login=` (our
    AXES_USERNAME_FORM_FIELD), Django's `user_login_failed` signal passes what allauth gave to
    authenticate(): `username=` or `email=`, never `login=`. Reading only `login`, axes counted
    these failures under no name at all, so five typos by one clerk locked out everyone who signs
    in from the same address. Lower case, because allauth finds accounts regardless of case:
    "Theke" and "theke" must share one counter.
    """
    credentials = credentials or {}
    name = (
        credentials.get("login")
        or credentials.get("username")
        or credentials.get("email")
        or getattr(request, "POST", {}).get("login")
        or ""
    )
    return name.strip().lower() or None


def client_ip(request):
    """The visitor's address: REMOTE_ADDR, or behind TRUSTED_PROXY_COUNT proxies the entry they
    added to X-Forwarded-For (the right-most ones; anything left of them the client can forge)."""
    from django.conf import settings

    count = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    if count:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= count:
            return forwarded[-count]
    return request.META.get("REMOTE_ADDR", "")
