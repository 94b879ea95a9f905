from django.urls import path

from invitations import email_log_views

app_name = "email_log"

urlpatterns = [
    path("", email_log_views.email_log, name="list"),
    path("<int:email_id>/resend/", email_log_views.email_resend, name="resend"),
]
