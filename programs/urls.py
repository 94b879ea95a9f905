"""Every URL of programs: its own namespace, and the email and support pages' namespaces.

Mounted at the site's root by pairing_admin/urls.py.
"""

from django.urls import include, path, re_path

from programs.views import (
    branding,
    emails,
    imports,
    match_weights,
    pairing,
    participants,
    programs,
    questions,
    registration,
    support,
    system,
)

program_patterns = [
    path("", programs.program_list, name="list"),
    path("new/", programs.program_create, name="create"),
    path("<int:program_id>/", programs.program_detail, name="detail"),
    path("<int:program_id>/edit/", programs.program_edit, name="edit"),
    path("<int:program_id>/match-weights/", match_weights.match_weights, name="match_weights"),
    path(
        "<int:program_id>/match-weights/add-rule/",
        match_weights.add_rule,
        name="match_rule_add",
    ),
    path(
        "<int:program_id>/match-weights/remove-rule/",
        match_weights.remove_rule,
        name="match_rule_remove",
    ),
    path("<int:program_id>/questions/", questions.question_list, name="questions"),
    path("<int:program_id>/questions/new/", questions.question_add, name="question_add"),
    path(
        "<int:program_id>/questions/<int:question_id>/",
        questions.question_edit,
        name="question_edit",
    ),
    path(
        "<int:program_id>/questions/<int:question_id>/move/",
        questions.question_move,
        name="question_move",
    ),
    path(
        "<int:program_id>/questions/<int:question_id>/delete/",
        questions.question_delete,
        name="question_delete",
    ),
    path(
        "<int:program_id>/questions/<int:question_id>/options/",
        questions.option_add,
        name="option_add",
    ),
    path(
        "<int:program_id>/questions/<int:question_id>/options/<int:option_id>/rename/",
        questions.option_rename,
        name="option_rename",
    ),
    path(
        "<int:program_id>/questions/<int:question_id>/options/<int:option_id>/move/",
        questions.option_move,
        name="option_move",
    ),
    path(
        "<int:program_id>/questions/<int:question_id>/options/<int:option_id>/remove/",
        questions.option_remove,
        name="option_remove",
    ),
    path("<int:program_id>/branding/", branding.program_branding, name="branding"),
    path(
        "organizations/<int:organization_id>/branding/",
        branding.organization_branding,
        name="organization_branding",
    ),
    path("<int:program_id>/pairing/", pairing.pairing_page, name="pairing"),
    path(
        "<int:program_id>/pairing/steps/<slug:step>/done/",
        pairing.step_done,
        name="pairing_step_done",
    ),
    path(
        "<int:program_id>/pairing/steps/<slug:step>/undo/",
        pairing.step_undo,
        name="pairing_step_undo",
    ),
    path("<int:program_id>/pairing/turn-on/", pairing.turn_on, name="pairing_turn_on"),
    path("<int:program_id>/pairing/turn-off/", pairing.turn_off, name="pairing_turn_off"),
    path(
        "organizations/<int:organization_id>/integrations/",
        pairing.integration_list,
        name="integrations",
    ),
    path("<int:program_id>/participants/", participants.participant_list, name="participants"),
    path(
        "<int:program_id>/participants/<int:participant_id>/",
        participants.participant_edit,
        name="participant_edit",
    ),
    path("<int:program_id>/participants/import/", imports.import_upload, name="import_upload"),
    path(
        "<int:program_id>/participants/import/template.csv",
        imports.import_template,
        name="import_template",
    ),
    path(
        "<int:program_id>/participants/import/<int:import_id>/",
        imports.import_preview,
        name="import_preview",
    ),
    path(
        "<int:program_id>/participants/import/<int:import_id>/confirm/",
        imports.import_confirm,
        name="import_confirm",
    ),
    path(
        "<int:program_id>/participants/import/<int:import_id>/discard/",
        imports.import_discard,
        name="import_discard",
    ),
]

email_log_patterns = [
    path("", emails.email_log, name="list"),
    path("<int:email_id>/resend/", emails.email_resend, name="resend"),
]

email_template_patterns = [
    path("", emails.email_template_list, name="list"),
    path("<str:kind>/", emails.email_template_edit, name="edit"),
    path("<str:kind>/reset/", emails.email_template_reset, name="reset"),
]

support_patterns = [
    path("", support.support_request, name="support_request"),
]

urlpatterns = [
    # Without a namespace: the public join links and the System page keep
    # their short paths and names ("register", "system").
    path("system/", system.system, name="system"),
    # Public: participant pages and emails show them to anyone.
    re_path(r"^brand/logo/(?P<digest>[0-9a-f]{64})/$", branding.brand_logo, name="brand_logo"),
    re_path(
        r"^brand/accent/(?P<colour>[0-9a-f]{6})\.css$",
        branding.brand_accent_css,
        name="brand_accent_css",
    ),
    path("join/<str:token>/", registration.register, name="register"),
    path(
        "join/<str:token>/confirm/<str:code>/",
        registration.register_confirm,
        name="register_confirm",
    ),
    path("programs/", include((program_patterns, "programs"))),
    # Before the template editor, whose "<str:kind>/" would swallow "log/".
    path("programs/<int:program_id>/emails/log/", include((email_log_patterns, "email_log"))),
    path(
        "programs/<int:program_id>/emails/",
        include((email_template_patterns, "email_templates")),
    ),
    # The namespace the page had when it lived in invitations: its URL names stay.
    path(
        "programs/<int:program_id>/pairing/support/",
        include((support_patterns, "invitations")),
    ),
]
