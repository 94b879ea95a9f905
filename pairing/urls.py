from django.urls import path

from pairing import views

app_name = "pairing"

urlpatterns = [
    path(
        "programs/<int:program_id>/pairing/unpaired/",
        views.unpaired_mentees,
        name="unpaired",
    ),
    path("programs/<int:program_id>/pairing/active/", views.active_pairings, name="active"),
    path("programs/<int:program_id>/pairing/health/", views.health, name="health"),
]
