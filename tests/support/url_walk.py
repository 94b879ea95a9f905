"""What the URL walk visits: every named admin URL, filled from one sample object each.

tests/test_url_walk.py walks them as the three roles; tests/test_cache_control.py
checks their caching headers.
"""

from django.urls import URLPattern, URLResolver, get_resolver, reverse

from invitations.models import InvitationBatch
from pairing_admin.mail.models import OutboundEmail
from programs.models import ParticipantImport, Question, QuestionOption
from tests import factories
from tests.support.marker import MARKER

PUBLIC = {
    "home": "redirects to the program list, which itself requires login",
    "login": "the login page",
    "logout": "logging out is harmless for anyone",
    "healthz": "load balancers probe it without credentials; it shows no data",
    "register": "the program's public registration link (token-guarded)",
    "register_confirm": "the emailed link confirming a registration (the code is the credential)",
    "pairing:preferences": "a mentee's personal link from an email (the token is the credential)",
    "pairing:request_link": "a mentor's approve/decline link from an email (token)",
    "pairing:preferences_submit": "the mentee's choices, posted from their personal link (token)",
    "pairing:preferences_withdraw": "a mentee withdraws a request from their personal link (token)",
    "pairing:session_link": "a participant's log-a-session link from an email (token)",
    "pairing:waitlist_join": "a mentee joins the waitlist from their personal link (token)",
    "pairing:waitlist_leave": "a mentee leaves the waitlist from their personal link (token)",
    "pairing:me_from_preferences": "My mentoring button on a mentee's link page (POST, token)",
    "pairing:me_from_request": "My mentoring button on a mentor's request page (POST, token)",
    "pairing:me_from_session": "My mentoring button on a log-a-session page (POST, token)",
    "pairing:me_ask": "asks for a personal-page link by email; same answer for any address",
    "pairing:me": "a person's own page, My mentoring (the HOME token is the credential)",
    "pairing:me_profile": "a person edits their own profile from their page (HOME token)",
    "pairing:me_away": "a mentor pauses new requests until a date (HOME token, POST)",
    "pairing:me_back": "a mentor takes requests again (HOME token, POST)",
    "pairing:me_choose": "a mentee opens the preference form from their page (HOME token, POST)",
    "pairing:me_approve": "a mentor approves one of their requests (HOME token, POST)",
    "pairing:me_decline": "a mentor declines one of their requests (HOME token, POST)",
    "pairing:me_withdraw": "a mentee withdraws their request (HOME token, POST)",
    "pairing:me_session": "a person logs a session of their pairing (HOME token, POST)",
    "brand_logo": "a program's logo, shown on participant pages and in emails (public content)",
    "brand_accent_css": "a brand's accent colour as a CSS variable (no data)",
}
STAFF_ONLY = {
    "system": "the deployment's hosts and worker check: superusers only, 404 for others",
}
SKIPPED_NAMESPACES = {
    "admin": "Django admin: superusers only, its own login",
    "djdt": "debug toolbar",
    "anymail": "email provider webhooks: guarded by the webhook secret (tests/mail/test_webhooks.py)",
}


def _named_patterns(resolver=None, namespace="", params=()):
    """(name, parameter names) of every named URL, prefixes' parameters included."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        own = tuple(entry.pattern.regex.groupindex)
        if isinstance(entry, URLResolver):
            ns = entry.namespace or ""
            if ns in SKIPPED_NAMESPACES:
                continue
            child = f"{namespace}:{ns}" if namespace and ns else (ns or namespace)
            yield from _named_patterns(entry, child, params + own)
        elif isinstance(entry, URLPattern) and entry.name:
            name = f"{namespace}:{entry.name}" if namespace else entry.name
            yield name, params + own


def _failed_email(program) -> OutboundEmail:
    return OutboundEmail.objects.create(
        program=program, kind="invitation", idempotency_key=f"walk:{MARKER}",
        to_email="walk@example.org", subject=MARKER, body_text=MARKER, status="failed",
    )  # fmt: skip


def _session(program):
    """An active pairing of the program (its mentee named MARKER) with one session."""
    from pairing.models import MentoringSession

    pairing = factories.PairingFactory(
        program=program, mentee=factories.ParticipantFactory(program=program, last_name=MARKER)
    )
    return MentoringSession.objects.create(
        program=program, pairing=pairing, date=pairing.started_at.date(), minutes=30
    )


def _autopair_run(program, mentee):
    """A staged auto-pair run proposing `mentee` with a mentor."""
    from pairing.models import AutoPairProposal, AutoPairRun

    run = AutoPairRun.objects.create(program=program, status="staged")
    AutoPairProposal.objects.create(
        run=run, mentee=mentee, mentor=factories.MentorFactory(program=program), score=1.0
    )
    return run


def _waitlisted(program, mentee):
    """`mentee` on the program's waitlist, so its pages and Remove have a row to guard."""
    from django.utils import timezone

    from pairing.models import WaitlistEntry

    return WaitlistEntry.objects.create(program=program, mentee=mentee, joined_at=timezone.now())


def samples(program, org_admin) -> dict:
    """One object of the first organization for every URL parameter name."""
    participant = factories.ParticipantFactory(program=program, first_name=MARKER)
    upload = ParticipantImport.objects.create(
        program=program, uploaded_by=org_admin, filename=f"{MARKER}.csv", content="email\n"
    )
    return {
        "program_id": program.pk,
        "participant_id": participant.pk,
        "import_id": upload.pk,
        "organization_id": program.organization_id,
        "step": "integrations",
        "pairing_id": (session := _session(program)).pairing_id,
        "session_id": session.pk,
        "request_id": 1,  # cancel answers outsiders 404 and GET 405 before looking it up
        "kind": "invitation",
        "batch_id": InvitationBatch.objects.create(program=program, kind="all").pk,
        "email_id": _failed_email(program).pk,
        "run_id": _autopair_run(program, participant).pk,
        "mentee_id": _waitlisted(program, participant).mentee_id,
        "question_id": (question := Question.objects.get(program=program, key="skills")).pk,
        "option_id": QuestionOption.objects.create(question=question, label=MARKER).pk,
    }


def admin_urls(samples) -> list[tuple[str, str]]:
    urls = []
    for name, params in _named_patterns():
        if name in PUBLIC:
            continue
        missing = [p for p in params if p not in samples]
        assert not missing, f"URL {name!r}: add a sample for {missing} to the URL walk"
        urls.append((name, reverse(name, kwargs={p: samples[p] for p in params})))
    assert len(urls) >= 5
    return urls
