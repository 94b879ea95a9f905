from django.urls import path

from programs.views import support

# The namespace the page had when it lived in invitations: its URL names stay.
app_name = "invitations"

urlpatterns = [
    path(
        "programs/<int:program_id>/pairing/support/",
        support.support_request,
        name="support_request",
    ),
]
