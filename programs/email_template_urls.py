from django.urls import path

from programs.views import emails

app_name = "email_templates"

urlpatterns = [
    path("", emails.email_template_list, name="list"),
    path("<str:kind>/", emails.email_template_edit, name="edit"),
    path("<str:kind>/reset/", emails.email_template_reset, name="reset"),
]
