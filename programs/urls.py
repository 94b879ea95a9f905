from django.urls import path

from programs.views import (
    imports,
    match_weights,
    pairing,
    participants,
    programs,
    registration,
    system,
)

app_name = "programs"

urlpatterns = [
    path("", programs.program_list, name="list"),
    path("new/", programs.program_create, name="create"),
    path("<int:program_id>/", programs.program_detail, name="detail"),
    path("<int:program_id>/edit/", programs.program_edit, name="edit"),
    path("<int:program_id>/match-weights/", match_weights.match_weights, name="match_weights"),
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

# Mounted at the site's root without the namespace: the public join links and
# the System page keep their short paths and names ("register", "system").
site_urlpatterns = [
    path("system/", system.system, name="system"),
    path("join/<str:token>/", registration.register, name="register"),
    path(
        "join/<str:token>/confirm/<str:code>/",
        registration.register_confirm,
        name="register_confirm",
    ),
]
