from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts import sso_views

# Django's own admin sign-in form would take the password alone and skip the one-time code.
admin.site.login = secure_admin_login(admin.site.login)

urlpatterns = [
    path("admin/", admin.site.urls),
    # Before allauth's own: the same names, with the ID token kept for signing out at the provider.
    path("konto/oidc/<str:provider_id>/login/", sso_views.login, name="openid_connect_login"),
    path("konto/oidc/<str:provider_id>/login/callback/", sso_views.callback, name="openid_connect_callback"),
    path("konto/logout/", sso_views.logout, name="account_logout"),
    path("konto/profil/", include("frontend.account_urls")),
    path("konto/", include("allauth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include("lending.urls")),
    # Public and the same for everyone: no authentication, so a token sent here is neither checked
    # nor told apart from a wrong one.
    path("api/schema/", SpectacularAPIView.as_view(authentication_classes=[]), name="api_schema"),
    # Swagger UI with its set-up script as a file of its own (/api/docs/?script), not inline: the
    # Content-Security-Policy allows no inline script (config/security_headers.py).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(
        url_name="api_schema", authentication_classes=[], template_name="api/swagger_ui.html",
    ), name="api_docs"),
    path("", include("notifications.urls")),
    path("", include("legal.urls")),
    path("", include("frontend.urls")),
]

handler400 = "config.error_views.bad_request"
handler404 = "config.error_views.not_found"
handler500 = "config.error_views.server_error"
