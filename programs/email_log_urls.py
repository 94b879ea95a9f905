from django.urls import path

from programs.views import emails

app_name = "email_log"

urlpatterns = [
    path("", emails.email_log, name="list"),
    path("<int:email_id>/resend/", emails.email_resend, name="resend"),
]
