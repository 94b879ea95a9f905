"""What a person changes of their own from their personal page ("My mentoring"): their
profile, "unavailable until <date>" and "I'm available again", and the emailed link to the
page itself. Every write goes through programs.services.participant_update, the admin's
own path, so the same refusals hold (a capacity below the people mentored now) and the
same consequences follow (the preference pool drops a paused mentor, freed seats go to
the waitlist).
"""

import logging
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from kombu.exceptions import OperationalError

from pairing import tasks
from pairing.drafts import common_values
from pairing.email_kinds import EmailKind
from pairing.health import local_today
from pairing.services.sweeps import seats_changed
from pairing_admin.lib import ratelimit
from pairing_admin.lib.errors import DomainError
from pairing_admin.mail.links import Purpose, link_create, link_url
from pairing_admin.mail.outbox import Draft, outbox_add
from programs.models import Organization, Participant, Program
from programs.questions import questions_of
from programs.services import participant_update

log = logging.getLogger(__name__)

HOME_VALID_FOR = timedelta(days=30)
# Fresh-link emails per address per hour: enough for "it didn't arrive, try again", too
# few to flood someone's inbox from a form anyone can post to. Counted in the cache
# (pairing_admin.lib.ratelimit), like the per-IP limit: atomic, self-expiring, no row
# written for addresses that may not even be ours; a Redis outage falls back to a count
# per process.
HOME_LINKS_PER_ADDRESS = 3
AWAY_AT_MOST = timedelta(days=365)
# What a person may edit of their own profile; mentors also their capacity.
OWN_FIELDS = ("department", "location", "bio")


def home_link(
    participant: Participant, *, now: datetime | None = None, until: datetime | None = None
) -> str:
    """A fresh personal-page token (reusable until it expires, opens that page and its
    actions only); the caller makes it a URL or a path. `until` caps its expiry."""
    now = now or timezone.now()
    expires_at = now + HOME_VALID_FOR
    if until is not None:
        expires_at = min(expires_at, until)
    _link, raw = link_create(purpose=Purpose.HOME, participant=participant, expires_at=expires_at)
    return raw


def home_links_ask(*, email: str) -> None:
    """Someone asked for their page's link on /me/: within the address's hourly limit, a
    worker looks the address up and writes the emails, so the page does the same work
    for an address we know as for one we don't."""
    email = email.strip().lower()
    if not ratelimit.hit(
        "home-link-address", email, limit=HOME_LINKS_PER_ADDRESS, window_seconds=3600
    ):
        return
    try:
        tasks.send_home_links.delay(email, timezone.now().isoformat())
    except OperationalError as exc:
        log.warning("Could not hand a personal-page link request to the broker (%s).", exc)


@transaction.atomic
def home_links_send(*, email: str, now: datetime | None = None) -> int:
    """Email a fresh personal-page link to every participant row with this address (one per
    program). Runs in a worker, so the page that asked answers the same for any address.
    Returns how many emails were written. `now` is when it was asked: the emails' keys,
    so running this again for the same ask writes nothing more."""
    now = now or timezone.now()
    email = email.strip().lower()
    people = Participant.objects.select_related("program__organization").filter(email=email)
    written = 0
    for person in people:
        program = person.program
        stamp = now.strftime("%Y%m%d%H%M%S%f")
        draft = Draft(
            kind=EmailKind.HOME_LINK,
            key=f"home-link:{person.pk}:{stamp}",
            to_email=person.email,
            to_name=person.full_name,
            values={
                **common_values(program, person),
                "home_link": link_url(home_link(person, now=now), Purpose.HOME),
            },
        )
        written += outbox_add([draft], program=program)
    return written


def profile_update_own(
    *, participant: Participant, answers: Mapping[int, object] | None = None, **fields
) -> Participant:
    """A person's edit of their own profile (and a mentor's capacity).

    Only OWN_FIELDS, the answers to the questions they are asked and, for a
    mentor, capacity: role, name and email stay the program team's. A capacity below the people they mentor now is refused by
    participant_update with nothing saved.
    """
    allowed = set(OWN_FIELDS)
    if participant.role == Participant.Role.MENTOR:
        allowed.add("capacity")
    unknown = set(fields) - allowed
    asked = {q.pk for q in questions_of(participant.program, role=participant.role)}
    if unknown or set(answers or ()) - asked:
        raise DomainError(_("These details can't be changed here."))
    return participant_update(participant=participant, own=True, answers=answers, **fields)


def check_away_until(participant: Participant, until: date) -> None:
    """Refuse a date that is not in the coming year (the organization's calendar)."""
    today = local_today(participant.program)
    if until <= today:
        raise DomainError(_("Pick a date after today."))
    if until > today + AWAY_AT_MOST:
        raise DomainError(_("Pick a date within the next year."))


def mentor_away_until(*, mentor: Participant, until: date) -> Participant:
    """ "Unavailable until <date>": no new requests until that day, when they resume by
    themselves (mentors_resume_due). Current pairings go on; as for the admin's "not
    accepting" and the mentor's "unavailable for now", requests still waiting for them
    close and go where a decline goes (the mentee's next choice), so no mentee waits for
    someone who is away."""
    if mentor.role != Participant.Role.MENTOR:
        raise DomainError(_("Only mentors can pause new requests."))
    check_away_until(mentor, until)
    return participant_update(
        participant=mentor, own=True, accepting_requests=False, unavailable_until=until
    )


def mentor_back(*, mentor: Participant) -> Participant:
    """ "I'm available again": new requests from now on; free seats go to the waitlist."""
    if mentor.role != Participant.Role.MENTOR:
        raise DomainError(_("Only mentors can pause new requests."))
    return participant_update(
        participant=mentor, own=True, accepting_requests=True, unavailable_until=None
    )


def mentors_resume_due(*, now: datetime | None = None) -> int:
    """Mentors whose "unavailable until" day has come in their organization's time zone
    take requests again: one UPDATE per time zone in use (a handful), then their free
    seats go to the waitlist. Returns how many resumed."""
    now = now or timezone.now()
    resumed: dict[int, list[int]] = {}
    zones = Organization.objects.order_by().values_list("timezone", flat=True).distinct()
    for zone in zones:
        today = now.astimezone(ZoneInfo(zone)).date()
        with transaction.atomic():
            rows = list(
                Participant.objects.filter(
                    program__organization__timezone=zone, unavailable_until__lte=today
                )
                .select_for_update(no_key=True, of=("self",))
                .order_by("pk")
                .values_list("pk", "program_id")
            )
            if not rows:
                continue
            Participant.objects.filter(pk__in=[pk for pk, _ in rows]).update(
                accepting_requests=True, unavailable_until=None, updated_at=now
            )
            for pk, program_id in rows:
                resumed.setdefault(program_id, []).append(pk)
    _offer_seats(resumed, now)
    return sum(len(ids) for ids in resumed.values())


def _offer_seats(resumed: dict[int, list[int]], now: datetime) -> None:
    for program in Program.objects.select_related("organization").filter(pk__in=list(resumed)):
        with transaction.atomic():
            seats_changed(program=program, mentor_ids=resumed[program.pk], now=now)
