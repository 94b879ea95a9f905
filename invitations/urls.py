from django.urls import path

from invitations import views

app_name = "invite"

urlpatterns = [
    path("all/", views.invite_all, name="all"),
    path("selected/", views.invite_selected, name="selected"),
    path("resend/", views.invite_resend, name="resend"),
    path("batches/<int:batch_id>/", views.batch_progress, name="batch"),
    path("batches/<int:batch_id>/stop/", views.batch_stop, name="batch_stop"),
]
