"""Ending pairings, one or many: compare-and-set on status = 'active', so two admins ending
the same pairing end it once and only the winner writes emails and the activity line.
The freed seats go to the waitlist at once.
"""

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from pairing.drafts import new_links
from pairing.email_kinds import EmailKind
from pairing.health import local_today
from pairing.models import MentoringSession, Pairing
from pairing.tasks import offer_program_waitlist
from pairing.verbs import Verb
from pairing.waitlist import seats_offer, waitlist_put_first
from pairing_admin.lib.errors import DomainError
from pairing_admin.lib.i18n import program_language
from pairing_admin.mail.branding import program_name
from pairing_admin.mail.links import PREFERENCES_VALID_FOR, Purpose
from pairing_admin.mail.outbox import Draft, outbox_add
from programs.models import Program
from programs.services import activity_record

REASON_MAX = 2000
BULK_MAX = 1000


class NextStep(models.TextChoices):
    """What happens to the mentee after their pairing ends."""

    WAITLIST = "waitlist", "Put them first on the waitlist"
    INVITE = "invite", "Invite them to choose a new mentor"
    NOTHING = "nothing", "Nothing for now"


def _next_step_texts(
    program: Program, ended: Sequence[Pairing], next_step: str, now: datetime
) -> dict[int, str]:
    """{mentee id: what their "pairing ended" email says happens next}, in the
    program's participant language."""
    if next_step == NextStep.WAITLIST:
        with program_language(program):
            text = (
                _(
                    "You are first in line on the program's waitlist: as soon as a mentor has "
                    "room, we'll offer them to you by email."
                )
                if program.is_user_led
                else _(
                    "You are first in line on the program's waitlist: your program team will "
                    "pair you with a new mentor as soon as they can."
                )
            )
        return {p.mentee_id: text for p in ended}
    if next_step == NextStep.INVITE:
        links = new_links(
            Purpose.PREFERENCES,
            [(program.pk, p.mentee_id, None, now + PREFERENCES_VALID_FOR) for p in ended],
        )
        with program_language(program):
            return {
                p.mentee_id: _("You can choose a new mentor whenever you're ready: %(link)s")
                % {"link": link}
                for p, link in zip(ended, links, strict=True)
            }
    return {}


def _ended_drafts(
    program: Program, ended: Sequence[Pairing], next_steps: dict[int, str]
) -> list[Draft]:
    """One email per person: each mentee about their pairing; a mentor about theirs, or
    one email listing them all when several of theirs ended at once."""
    common = {"program_name": program_name(program), "organization_name": program.organization.name}
    drafts = []
    for pairing in ended:
        mentee = pairing.mentee
        drafts.append(
            Draft(
                kind=EmailKind.PAIRING_ENDED,
                key=f"pairing_ended:{pairing.pk}:{mentee.pk}",
                to_email=mentee.email,
                to_name=mentee.full_name,
                values={
                    **common,
                    "first_name": mentee.first_name,
                    "partner_name": pairing.mentor.full_name,
                    "next_step": next_steps.get(mentee.pk, ""),
                },
            )
        )
    by_mentor: dict[int, list[Pairing]] = defaultdict(list)
    for pairing in ended:
        by_mentor[pairing.mentor_id].append(pairing)
    event = min(p.pk for p in ended)
    for pairings in by_mentor.values():
        mentor = pairings[0].mentor
        if len(pairings) == 1:
            drafts.append(
                Draft(
                    kind=EmailKind.PAIRING_ENDED,
                    key=f"pairing_ended:{pairings[0].pk}:{mentor.pk}",
                    to_email=mentor.email,
                    to_name=mentor.full_name,
                    values={
                        **common,
                        "first_name": mentor.first_name,
                        "partner_name": pairings[0].mentee.full_name,
                        "next_step": "",
                    },
                )
            )
            continue
        drafts.append(
            Draft(
                kind=EmailKind.PAIRINGS_ENDED,
                key=f"pairings_ended:{event}:{mentor.pk}",
                to_email=mentor.email,
                to_name=mentor.full_name,
                values={
                    **common,
                    "first_name": mentor.first_name,
                    "count": str(len(pairings)),
                    "partners": "\n".join(f"- {p.mentee.full_name}" for p in pairings),
                },
            )
        )
    return drafts


def _clean_reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise DomainError("Say why the pairing ends: the reason is kept for admins only.")
    if len(reason) > REASON_MAX:
        raise DomainError(f"Keep the reason under {REASON_MAX:,} characters.")
    return reason


def _end(
    *,
    program: Program,
    ids: Sequence[int],
    user,
    reason: str,
    notify: bool,
    do_not_pair_again: bool,
    now: datetime,
    next_step: str = NextStep.NOTHING,
) -> list[Pairing]:
    """End the given active pairings of the program (inside the caller's transaction).

    Their mentors' seats go to the waitlist at once; the mentees go first on
    it, get a link to choose again, or nothing, as `next_step` says.
    """
    if next_step not in NextStep.values:
        raise DomainError("Choose what happens next for the mentee.")
    if next_step == NextStep.INVITE and not program.is_user_led:
        raise DomainError(
            "In this program the program team pairs mentees, so there is nothing to choose."
        )
    if next_step == NextStep.INVITE and not notify:
        raise DomainError(
            "Inviting the mentee to choose again is done by email: tick “Notify both” too, "
            "or choose another next step."
        )
    if next_step == NextStep.WAITLIST and not program.waitlist_on:
        raise DomainError("This program has no waitlist: turn it on in the program settings.")
    # Lock in id order so two bulk ends over overlapping rows cannot deadlock.
    locked = list(
        Pairing.objects.select_for_update(of=("self",))
        .filter(program=program, pk__in=sorted(set(ids)))
        .active()
        .select_related("mentee", "mentor")
        .order_by("pk")
    )
    if not locked:
        return []
    pks = [p.pk for p in locked]
    ended = (
        Pairing.objects.filter(pk__in=pks)
        .active()
        .update(
            status=Pairing.Status.ENDED,
            ended_at=now,
            ended_by=user,
            end_reason=reason,
            do_not_pair_again=do_not_pair_again,
        )
    )
    if ended != len(pks):  # cannot happen while the rows are locked; refuse rather than guess
        raise DomainError("These pairings changed while you were ending them; try again.")
    today = local_today(program, now)
    MentoringSession.objects.filter(pairing_id__in=pks, date__gt=today).exclude(
        status=MentoringSession.Status.CANCELLED
    ).update(status=MentoringSession.Status.CANCELLED, cancelled_at=now)
    program = Program.objects.select_related("organization").get(pk=program.pk)
    if next_step == NextStep.WAITLIST:
        waitlist_put_first(
            program=program, mentee_ids=[p.mentee_id for p in locked], user=user, now=now
        )
    if notify:
        steps = _next_step_texts(program, locked, next_step, now)
        outbox_add(_ended_drafts(program, locked, steps), program=program)
    for pairing in locked:
        pairing.status, pairing.ended_at, pairing.ended_by = Pairing.Status.ENDED, now, user
        pairing.end_reason, pairing.do_not_pair_again = reason, do_not_pair_again
    # The freed seats, to the waitlist (mentors nobody else holds; a held one
    # is its holder's to offer, or the next sweep's). The mentees just put
    # first in line are not offered one in this event, whose email tells them
    # they are first in line: right after it commits, a task offers them any
    # free seat, which is an event (and an email) of its own.
    ended_mentees = {p.mentee_id for p in locked}
    seats_offer(
        program=program,
        mentor_ids={p.mentor_id for p in locked},
        now=now,
        skip_mentees=ended_mentees,
    )
    if next_step == NextStep.WAITLIST:
        offer_program_waitlist.delay_on_commit(program.pk)
    return locked


def _consequences(notify: bool, do_not_pair_again: bool, next_step: str) -> str:
    parts = ["both notified" if notify else "nobody notified"]
    if do_not_pair_again:
        parts.append("not to be paired again")
    if next_step != NextStep.NOTHING:
        parts.append(NextStep(next_step).label.lower())
    return "; ".join(parts)


def pairing_end(
    *,
    program: Program,
    pairing_id: int,
    user,
    reason: str,
    notify: bool,
    do_not_pair_again: bool = False,
    next_step: str = NextStep.NOTHING,
    now: datetime | None = None,
) -> Pairing:
    """End one active pairing: its upcoming sessions are cancelled, the mentor has room again."""
    reason = _clean_reason(reason)
    now = now or timezone.now()
    with transaction.atomic():
        ended = _end(
            program=program,
            ids=[pairing_id],
            user=user,
            reason=reason,
            notify=notify,
            do_not_pair_again=do_not_pair_again,
            now=now,
            next_step=next_step,
        )
        if not ended:
            if Pairing.objects.filter(program=program, pk=pairing_id).exists():
                raise DomainError("This pairing has already ended.")
            raise DomainError("There is no such pairing in this program.")
        pairing = ended[0]
        activity_record(
            program=program,
            actor=user,
            verb=Verb.PAIRING_ENDED,
            detail=f"{pairing.mentee.full_name} with {pairing.mentor.full_name} "
            f"({_consequences(notify, do_not_pair_again, next_step)}): {reason}",
        )
    return pairing


def pairing_end_bulk(
    *,
    program: Program,
    pairing_ids: Sequence[int],
    user,
    reason: str,
    notify: bool,
    do_not_pair_again: bool = False,
    next_step: str = NextStep.NOTHING,
    now: datetime | None = None,
) -> int:
    """End the selected pairings that are still active; returns how many ended."""
    reason = _clean_reason(reason)
    ids = list(dict.fromkeys(int(i) for i in pairing_ids))
    if not ids:
        raise DomainError("Select at least one pairing to end.")
    if len(ids) > BULK_MAX:
        raise DomainError(f"End at most {BULK_MAX:,} pairings at a time.")
    now = now or timezone.now()
    with transaction.atomic():
        ended = _end(
            program=program,
            ids=ids,
            user=user,
            reason=reason,
            notify=notify,
            do_not_pair_again=do_not_pair_again,
            now=now,
            next_step=next_step,
        )
        if not ended:
            # A second submit of the same confirmation (a double click, a reload) lands here:
            # say that the work is done rather than that nothing was selected.
            if Pairing.objects.filter(program=program, pk__in=ids).exists():
                raise DomainError(
                    "These pairings were already ended; nothing more to do."
                    if len(ids) > 1
                    else "This pairing was already ended; nothing more to do."
                )
            raise DomainError("None of the selected pairings is in this program.")
        activity_record(
            program=program,
            actor=user,
            verb=Verb.PAIRINGS_ENDED,
            detail=f"{len(ended)} pairing{'s' if len(ended) != 1 else ''} "
            f"({_consequences(notify, do_not_pair_again, next_step)}): {reason}",
        )
    return len(ended)
