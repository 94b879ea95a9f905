from django.urls import path

from pairing import public_views, views

app_name = "pairing"

urlpatterns = [
    path(
        "programs/<int:program_id>/pairing/unpaired/",
        views.unpaired_mentees,
        name="unpaired",
    ),
    path("programs/<int:program_id>/pairing/active/", views.active_pairings, name="active"),
    path("programs/<int:program_id>/pairing/health/", views.health, name="health"),
    # Personal links from emails (no login; the token is the credential).
    path("p/<str:token>/", public_views.preferences, name="preferences"),
    path("p/<str:token>/choose/", public_views.preferences_submit, name="preferences_submit"),
    path("p/<str:token>/withdraw/", public_views.preferences_withdraw, name="preferences_withdraw"),
    path("r/<str:token>/", public_views.request_link, name="request_link"),
    path("s/<str:token>/", public_views.session_link, name="session_link"),
]
