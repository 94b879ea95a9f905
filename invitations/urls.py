from django.urls import path

from invitations import views

app_name = "invitations"

urlpatterns = [
    path(
        "programs/<int:program_id>/pairing/support/",
        views.support_request,
        name="support_request",
    ),
]
