from django.urls import path

from invitations import invite_views

app_name = "invite"

urlpatterns = [
    path("all/", invite_views.invite_all, name="all"),
    path("selected/", invite_views.invite_selected, name="selected"),
    path("resend/", invite_views.invite_resend, name="resend"),
    path("batches/<int:batch_id>/", invite_views.batch_progress, name="batch"),
    path("batches/<int:batch_id>/stop/", invite_views.batch_stop, name="batch_stop"),
]
