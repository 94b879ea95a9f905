from django.urls import path

from invitations.views import invite

app_name = "invite"

urlpatterns = [
    path("all/", invite.invite_all, name="all"),
    path("selected/", invite.invite_selected, name="selected"),
    path("resend/", invite.invite_resend, name="resend"),
    path("batches/<int:batch_id>/", invite.batch_progress, name="batch"),
    path("batches/<int:batch_id>/stop/", invite.batch_stop, name="batch_stop"),
]
