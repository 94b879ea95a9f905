from django.urls import include, path

from pairing.views import autopair, links, monitor, personal, requests, tabs, waitlist

app_name = "pairing"

# The Pairing page's tabs and actions, under programs/<int:program_id>/pairing/.
program_patterns = [
    path("unpaired/", tabs.unpaired_mentees, name="unpaired"),
    path("active/", tabs.active_pairings, name="active"),
    path("health/", tabs.health, name="health"),
    # Monitoring: a pairing's page, End Pairing, Export, sessions, health rules.
    path("pairings/<int:pairing_id>/", monitor.pairing_detail, name="detail"),
    path("pairings/<int:pairing_id>/end/", monitor.pairing_end, name="end"),
    path("pairings/<int:pairing_id>/sessions/", monitor.session_add, name="session_add"),
    path(
        "pairings/<int:pairing_id>/sessions/<int:session_id>/cancel/",
        monitor.session_cancel,
        name="session_cancel",
    ),
    path("active/end/", monitor.pairing_end_bulk, name="end_bulk"),
    path("active/export.csv", monitor.export_active, name="export_active"),
    path("unpaired/export.csv", monitor.export_unpaired, name="export_unpaired"),
    path("requests/export.csv", monitor.export_requests, name="export_requests"),
    path("health/rules/", monitor.health_rules, name="health_rules"),
    # Waitlist: the tab, add a mentee, remove one, export.
    path("waitlist/", waitlist.waitlist_tab, name="waitlist"),
    path("waitlist/add/", waitlist.waitlist_add, name="waitlist_add"),
    path("waitlist/<int:mentee_id>/remove/", waitlist.waitlist_remove, name="waitlist_remove"),
    path("waitlist/export.csv", waitlist.export_waitlist, name="export_waitlist"),
    # Auto-pair: start a run, watch it, review, swap, confirm or discard.
    path("auto-pair/", autopair.autopair_home, name="autopair"),
    path("auto-pair/<int:run_id>/", autopair.autopair_run, name="autopair_run"),
    path("auto-pair/<int:run_id>/progress/", autopair.autopair_progress, name="autopair_progress"),
    path(
        "auto-pair/<int:run_id>/mentees/<int:mentee_id>/remove/",
        autopair.autopair_remove,
        name="autopair_remove",
    ),
    path(
        "auto-pair/<int:run_id>/mentees/<int:mentee_id>/mentor/",
        autopair.autopair_mentor,
        name="autopair_mentor",
    ),
    path("auto-pair/<int:run_id>/confirm/", autopair.autopair_confirm, name="autopair_confirm"),
    path("auto-pair/<int:run_id>/discard/", autopair.autopair_discard, name="autopair_discard"),
]

urlpatterns = [
    path("programs/<int:program_id>/pairing/", include(program_patterns)),
    # Personal links from emails (no login; the token is the credential).
    path("p/<str:token>/", links.preferences, name="preferences"),
    path("p/<str:token>/choose/", links.preferences_submit, name="preferences_submit"),
    path("p/<str:token>/withdraw/", links.preferences_withdraw, name="preferences_withdraw"),
    path("p/<str:token>/waitlist/", links.waitlist_page, name="waitlist_join"),
    path("p/<str:token>/waitlist/leave/", links.waitlist_leave, name="waitlist_leave"),
    path("r/<str:token>/", links.request_link, name="request_link"),
    path("s/<str:token>/", links.session_link, name="session_link"),
    # "My mentoring" from any emailed link's page: a fresh personal-page link (POST).
    path("p/<str:token>/me/", links.me_from_link, name="me_from_preferences"),
    path("r/<str:token>/me/", links.me_from_link, name="me_from_request"),
    path("s/<str:token>/me/", links.me_from_link, name="me_from_session"),
    # The personal page ("My mentoring") and its actions, each a POST of its own.
    path("me/", personal.me_ask, name="me_ask"),
    path("me/<str:token>/", personal.me, name="me"),
    path("me/<str:token>/profile/", personal.me_profile, name="me_profile"),
    path("me/<str:token>/away/", personal.me_away, name="me_away"),
    path("me/<str:token>/back/", personal.me_back, name="me_back"),
    path("me/<str:token>/choose/", personal.me_choose, name="me_choose"),
    path(
        "me/<str:token>/requests/<int:request_id>/approve/",
        personal.me_approve,
        name="me_approve",
    ),
    path(
        "me/<str:token>/requests/<int:request_id>/decline/",
        personal.me_decline,
        name="me_decline",
    ),
    path(
        "me/<str:token>/requests/<int:request_id>/withdraw/",
        personal.me_withdraw,
        name="me_withdraw",
    ),
    path(
        "me/<str:token>/pairings/<int:pairing_id>/session/",
        personal.me_session,
        name="me_session",
    ),
]

# The Requests page: pairing_admin/urls.py mounts it at programs/<int:program_id>/requests/.
request_urlpatterns = (
    [
        path("", requests.request_list, name="list"),
        path("pair/", requests.pair_by_hand, name="pair"),
        path("<int:request_id>/cancel/", requests.request_cancel, name="cancel"),
    ],
    "requests",
)
