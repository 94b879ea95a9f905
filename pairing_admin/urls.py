from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from pairing import urls as pairing_urls
from pairing_admin import views
from pairing_admin.mail.webhooks import webhook_urlpatterns

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="programs:list", permanent=False), name="home"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz", views.healthz, name="healthz"),
    # Each mounts its own paths (programs/<id>/...), several namespaces.
    path("", include("programs.urls")),
    path("programs/<int:program_id>/invite/", include("invitations.urls")),
    path("", include("pairing.urls")),
    path("programs/<int:program_id>/requests/", include(pairing_urls.request_urlpatterns)),
    path("django-admin/", admin.site.urls),
    # The email provider's tracking webhook (bounces, complaints): only the
    # configured provider's, public, guarded by anymail's webhook secret and
    # refused while none is configured.
    path("anymail/", include((webhook_urlpatterns(settings.EMAIL_PROVIDER), "anymail"))),
]
