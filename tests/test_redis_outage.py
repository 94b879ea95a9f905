"""Pages people open from their emails keep working while Redis is down.

docker-compose runs the Celery broker and the cache (rate limits) on one
Redis, so stopping it takes both away at once. These tests start a
redis-server of their own, point both at it the same way, stop it, and walk
every page a participant reaches by link: each answers as usual, the change
is saved, and its emails wait in the outbox until the sweeper sends them.
"""

import logging
import shutil
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from pairing import services
from pairing.models import MentoringSession, MentorRequest, Pairing, WaitlistEntry
from pairing_admin.lib import ratelimit
from pairing_admin.mail.links import Purpose, link_create
from pairing_admin.mail.models import OutboundEmail
from pairing_admin.mail.sweep import outbox_sweep
from programs.models import Participant
from tests import factories
from tests.programs import registering
from tests.support import services as test_services
from tests.support import smtp
from tests.support.broker import OwnRedis, publishing_to

NOW = timedelta(milliseconds=1)  # a sweeper threshold every row has passed
PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _fresh_fallback():
    ratelimit.reset_fallback()
    yield
    ratelimit.reset_fallback()


@pytest.fixture
def own_redis():
    if shutil.which("redis-server") is None:
        if test_services.required():
            pytest.fail("redis-server is not installed")
        pytest.skip("redis-server is not installed")
    redis = OwnRedis().start()
    yield redis
    redis.stop()


def _redis_cache(url: str) -> dict:
    return {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}}


def test_token_pages_count_hits_in_the_process_while_the_cache_is_down(settings, db, caplog):
    # Nothing listens on this port: every cache call fails at once.
    settings.CACHES = _redis_cache(f"redis://127.0.0.1:{smtp.free_port()}/1")
    settings.TOKEN_PAGE_RATE_LIMIT = 3
    program = factories.ProgramFactory(pairing_enabled=True)
    raw = factories.preferences_link(factories.ParticipantFactory(program=program))
    client = Client(REMOTE_ADDR="10.0.0.1")
    with caplog.at_level(logging.WARNING, logger="pairing_admin.lib.ratelimit"):
        statuses = [client.get(f"/p/{raw}/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert Client(REMOTE_ADDR="10.0.0.2").get(f"/p/{raw}/").status_code == 200
    # One warning for the outage, not one per request.
    warnings = [r for r in caplog.records if "cache cannot be reached" in r.getMessage()]
    assert len(warnings) == 1


@pytest.mark.django_db(transaction=True)
def test_every_participant_link_works_with_redis_down_and_emails_go_out_later(
    own_redis, settings, caplog
):
    settings.CACHES = _redis_cache(f"redis://127.0.0.1:{own_redis.port}/1")
    org = factories.OrganizationFactory()
    admin = factories.MembershipFactory(organization=org).user
    admin.set_password(PASSWORD)
    admin.save()
    program = factories.ProgramFactory(organization=org, pairing_enabled=True)
    m1, m2, m3 = (factories.MentorFactory(program=program, capacity=2) for _ in range(3))
    chooser, approved, offered = (factories.ParticipantFactory(program=program) for _ in range(3))
    # Made while Redis is up: a request for the mentor to approve.
    waiting = services.preferences_submit(mentee=approved, mentor_ids=[m2.pk], note="").request
    links = {
        purpose: link_create(
            purpose=purpose, participant=m2, object_id=waiting.pk, expires_at=waiting.expires_at
        )[1]
        for purpose in (Purpose.APPROVE, Purpose.DECLINE)
    }
    chooser_link = factories.preferences_link(chooser)
    offered_link = factories.preferences_link(offered)
    admin_client = Client()
    admin_client.force_login(admin)
    before = set(OutboundEmail.objects.values_list("pk", flat=True))

    with publishing_to(own_redis.url):
        own_redis.stop()
        person = Client(REMOTE_ADDR="10.1.1.1")
        with caplog.at_level(logging.WARNING):
            # The mentee's preferences: look, choose, take it back, choose again.
            assert person.get(f"/p/{chooser_link}/").status_code == 200
            response = person.post(f"/p/{chooser_link}/choose/", {f"rank_{m1.pk}": "1"})
            assert response.status_code == 302, response.content.decode()[:2000]
            first = MentorRequest.objects.get(mentee=chooser)
            response = person.post(f"/p/{chooser_link}/withdraw/", {"request": first.pk})
            assert response.status_code == 302
            first.refresh_from_db()
            assert first.status == MentorRequest.Status.WITHDRAWN
            assert (
                person.post(f"/p/{chooser_link}/choose/", {f"rank_{m1.pk}": "1"}).status_code == 302
            )
            assert MentorRequest.objects.filter(
                mentee=chooser, status=MentorRequest.Status.PENDING
            ).exists()

            # The mentor's Approve link: look, then approve.
            approve = f"/r/{links[Purpose.APPROVE]}/"
            assert person.get(approve).status_code == 200
            assert person.head(approve).status_code == 200
            assert person.post(approve).status_code == 302
            pairing = Pairing.objects.get(mentee=approved, mentor=m2)
            assert person.get(f"/r/{links[Purpose.DECLINE]}/").status_code == 200  # "decided"

            # The waitlist: join naming a mentor with room, who is offered at once.
            assert person.get(f"/p/{offered_link}/waitlist/").status_code == 200
            response = person.post(f"/p/{offered_link}/waitlist/", {"mentor": [m3.pk]})
            assert response.status_code == 302, response.content.decode()[:2000]
            offer = MentorRequest.objects.get(mentee=offered, status=MentorRequest.Status.PENDING)
            assert offer.mentor_id == m3.pk
            assert WaitlistEntry.every.get(mentee=offered).offer_id == offer.pk
            # The mentor declines from their link: the mentee goes back in line,
            # and the offer of the next seat is left to the sweeper (broker down).
            _, raw = link_create(
                purpose=Purpose.DECLINE,
                participant=m3,
                object_id=offer.pk,
                expires_at=offer.expires_at,
            )
            decline = f"/r/{raw}/"
            assert person.get(decline).status_code == 200
            response = person.post(decline, {"message": "Not this term, sorry."})
            assert response.status_code == 302, response.content.decode()[:2000]
            offer.refresh_from_db()
            assert offer.status == MentorRequest.Status.DECLINED
            assert WaitlistEntry.objects.get(mentee=offered).offer_id is None
            assert person.get(f"/p/{offered_link}/").status_code == 200
            assert person.post(f"/p/{offered_link}/waitlist/leave/").status_code == 302
            assert not WaitlistEntry.every.filter(mentee=offered).exists()

            # Logging a session from the personal session link.
            _, raw = link_create(
                purpose=Purpose.SESSION,
                participant=approved,
                object_id=pairing.pk,
                expires_at=timezone.now() + timedelta(days=30),
            )
            session = reverse("pairing:session_link", kwargs={"token": raw})
            assert person.get(session).status_code == 200
            today = timezone.localdate().isoformat()
            response = person.post(session, {"date": today, "minutes": "45", "note": ""})
            assert response.status_code == 302, response.content.decode()[:2000]
            assert MentoringSession.objects.filter(pairing=pairing, minutes=45).exists()

            # The self-registration page.
            join = reverse("register", kwargs={"token": program.registration_token})
            registrant = Client()
            assert registrant.get(join).status_code == 200
            response = registrant.post(
                join,
                {"role": "mentee", "first_name": "Zoe", "last_name": "Quinn",
                 "email": "zoe@example.org", "title": "", "department": "", "location": "",
                 "goals": "", "interests": "", "bio": "", "capacity": ""},
            )  # fmt: skip
            assert response.status_code == 302, response.content.decode()[:2000]
            assert registrant.get(response.url).status_code == 200
            assert not Participant.objects.filter(email="zoe@example.org").exists()
            # The emailed link (double opt-in): its GET shows a Confirm button and
            # saves nothing; only the POST adds the person.
            confirm = registering.confirm_url(
                program, registering.emailed_code(program, "zoe@example.org")
            )
            response = registrant.get(confirm)
            assert response.status_code == 200
            assert "Confirm</button>" in response.content.decode()
            assert not Participant.objects.filter(email="zoe@example.org").exists()
            response = registrant.post(confirm)
            assert response.status_code == 200, response.content.decode()[:2000]
            zoe = Participant.objects.get(program=program, email="zoe@example.org")
            assert (zoe.first_name, zoe.last_name, zoe.role) == ("Zoe", "Quinn", "mentee")

            # Admins: the login page (its lockout counts live in the database) and pages.
            login = Client()
            assert login.get("/login/").status_code == 200
            wrong = {"username": admin.username, "password": "wrong"}
            assert login.post("/login/", wrong).status_code == 200
            right = {"username": admin.username, "password": PASSWORD}
            assert login.post("/login/", right).status_code == 302
            assert login.get(reverse("programs:list")).status_code == 200
            assert (
                admin_client.get(reverse("programs:pairing", args=[program.pk])).status_code == 200
            )

    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert any("cache cannot be reached" in w for w in warnings), warnings
    assert any("Could not hand pairing.tasks.offer_program_waitlist" in w for w in warnings)

    # Every email the outage wrote is in the outbox, unsent; the sweeper sends
    # each once the broker is back (here the tasks run in this process).
    written = OutboundEmail.objects.exclude(pk__in=before)
    assert written.count() >= 5
    assert set(written.values_list("status", flat=True)) == {OutboundEmail.Status.QUEUED}
    mail.outbox.clear()
    outbox_sweep(stale_after=NOW)
    assert set(written.values_list("status", flat=True)) == {OutboundEmail.Status.SENT}
    assert len(mail.outbox) == written.count()
    assert written.filter(to_email="zoe@example.org", status=OutboundEmail.Status.SENT).exists()


@pytest.mark.django_db(transaction=True)
def test_a_cache_that_hangs_does_not_take_a_participant_page_down(settings, monkeypatch):
    # A Redis that accepts connections and never answers (a stuck host, a full
    # network buffer): the production cache settings give up (after a second)
    # and the page answers, counting its rate limit in the process.
    import runpy
    import socket
    import threading

    import pairing_admin.settings as settings_module

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)  # the kernel completes the handshake; nobody ever reads
    monkeypatch.setenv("CACHE_URL", f"redis://127.0.0.1:{silent.getsockname()[1]}/1")
    settings.CACHES = runpy.run_path(settings_module.__file__)["CACHES"]
    program = factories.ProgramFactory(pairing_enabled=True)
    raw = factories.preferences_link(factories.ParticipantFactory(program=program))
    answers = []

    def open_page():
        try:
            answers.append(Client().get(f"/p/{raw}/").status_code)
        finally:
            connection.close()  # this thread's own database connection

    page = threading.Thread(target=open_page, daemon=True)
    try:
        page.start()
        page.join(timeout=60)  # only a guard against hanging the suite
        assert not page.is_alive(), "the page waited on the silent cache"
        assert answers == [200]
    finally:
        silent.close()  # resets the connections still waiting in its queue
        page.join(timeout=5)
