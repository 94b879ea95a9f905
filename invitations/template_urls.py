from django.urls import path

from invitations import template_views

app_name = "email_templates"

urlpatterns = [
    path("", template_views.email_template_list, name="list"),
    path("<str:kind>/", template_views.email_template_edit, name="edit"),
    path("<str:kind>/reset/", template_views.email_template_reset, name="reset"),
]
