from django.urls import path

from pairing import monitor_views, public_views, session_views, views
from pairing.autopair_views import (
    autopair_confirm,
    autopair_discard,
    autopair_home,
    autopair_mentor,
    autopair_progress,
    autopair_remove,
    autopair_run,
)
from pairing.waitlist_views import (
    export_waitlist,
    waitlist_add,
    waitlist_remove,
    waitlist_tab,
)

app_name = "pairing"

urlpatterns = [
    path(
        "programs/<int:program_id>/pairing/unpaired/",
        views.unpaired_mentees,
        name="unpaired",
    ),
    path("programs/<int:program_id>/pairing/active/", views.active_pairings, name="active"),
    path("programs/<int:program_id>/pairing/health/", views.health, name="health"),
    # Monitoring: a pairing's page, End Pairing, Export, sessions, health rules.
    path(
        "programs/<int:program_id>/pairing/pairings/<int:pairing_id>/",
        monitor_views.pairing_detail,
        name="detail",
    ),
    path(
        "programs/<int:program_id>/pairing/pairings/<int:pairing_id>/end/",
        monitor_views.pairing_end,
        name="end",
    ),
    path(
        "programs/<int:program_id>/pairing/pairings/<int:pairing_id>/sessions/",
        monitor_views.session_add,
        name="session_add",
    ),
    path(
        "programs/<int:program_id>/pairing/pairings/<int:pairing_id>/sessions/<int:session_id>/cancel/",
        monitor_views.session_cancel,
        name="session_cancel",
    ),
    path(
        "programs/<int:program_id>/pairing/active/end/",
        monitor_views.pairing_end_bulk,
        name="end_bulk",
    ),
    path(
        "programs/<int:program_id>/pairing/active/export.csv",
        monitor_views.export_active,
        name="export_active",
    ),
    path(
        "programs/<int:program_id>/pairing/unpaired/export.csv",
        monitor_views.export_unpaired,
        name="export_unpaired",
    ),
    path(
        "programs/<int:program_id>/pairing/requests/export.csv",
        monitor_views.export_requests,
        name="export_requests",
    ),
    path(
        "programs/<int:program_id>/pairing/health/rules/",
        monitor_views.health_rules,
        name="health_rules",
    ),
    # Waitlist: the tab, add a mentee, remove one, export.
    path(
        "programs/<int:program_id>/pairing/waitlist/",
        waitlist_tab,
        name="waitlist",
    ),
    path(
        "programs/<int:program_id>/pairing/waitlist/add/",
        waitlist_add,
        name="waitlist_add",
    ),
    path(
        "programs/<int:program_id>/pairing/waitlist/<int:mentee_id>/remove/",
        waitlist_remove,
        name="waitlist_remove",
    ),
    path(
        "programs/<int:program_id>/pairing/waitlist/export.csv",
        export_waitlist,
        name="export_waitlist",
    ),
    # Auto-pair: start a run, watch it, review, swap, confirm or discard.
    path("programs/<int:program_id>/pairing/auto-pair/", autopair_home, name="autopair"),
    path(
        "programs/<int:program_id>/pairing/auto-pair/<int:run_id>/",
        autopair_run,
        name="autopair_run",
    ),
    path(
        "programs/<int:program_id>/pairing/auto-pair/<int:run_id>/progress/",
        autopair_progress,
        name="autopair_progress",
    ),
    path(
        "programs/<int:program_id>/pairing/auto-pair/<int:run_id>/mentees/<int:mentee_id>/remove/",
        autopair_remove,
        name="autopair_remove",
    ),
    path(
        "programs/<int:program_id>/pairing/auto-pair/<int:run_id>/mentees/<int:mentee_id>/mentor/",
        autopair_mentor,
        name="autopair_mentor",
    ),
    path(
        "programs/<int:program_id>/pairing/auto-pair/<int:run_id>/confirm/",
        autopair_confirm,
        name="autopair_confirm",
    ),
    path(
        "programs/<int:program_id>/pairing/auto-pair/<int:run_id>/discard/",
        autopair_discard,
        name="autopair_discard",
    ),
    # Personal links from emails (no login; the token is the credential).
    path("p/<str:token>/", public_views.preferences, name="preferences"),
    path("p/<str:token>/choose/", public_views.preferences_submit, name="preferences_submit"),
    path("p/<str:token>/withdraw/", public_views.preferences_withdraw, name="preferences_withdraw"),
    path("p/<str:token>/waitlist/", public_views.waitlist_page, name="waitlist_join"),
    path("p/<str:token>/waitlist/leave/", public_views.waitlist_leave, name="waitlist_leave"),
    path("r/<str:token>/", public_views.request_link, name="request_link"),
    path("s/<str:token>/", session_views.session_link, name="session_link"),
]
