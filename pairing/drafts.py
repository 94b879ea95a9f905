"""The emails of requests and pairings that more than one service writes.

Each returns outbox Drafts (pairing_admin.mail.outbox); the caller adds them in the
transaction that made the change, so an email exists exactly when its cause
committed.
"""

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.utils.translation import gettext

from pairing.deadlines import deadline_label
from pairing.email_kinds import EmailKind
from pairing.models import MentorRequest
from pairing_admin.lib.i18n import program_language
from pairing_admin.mail.branding import program_name
from pairing_admin.mail.links import (
    PREFERENCES_VALID_FOR,
    Purpose,
    link_create,
    link_url,
    links_bulk,
)
from pairing_admin.mail.outbox import Draft
from programs.models import Participant, Program
from programs.questions import described, prime_answers, questions_of

SESSION_LINK_VALID_FOR = timedelta(days=400)


def _role_word(program: Program, role: str) -> str:
    """ "mentor" or "mentee" as the assignment email says it, in the program's language."""
    with program_language(program):
        return gettext("mentor") if role == "mentor" else gettext("mentee")


def common_values(program: Program, person: Participant) -> dict[str, str]:
    return {
        "first_name": person.first_name,
        "program_name": program_name(program),
        "organization_name": program.organization.name,
    }


def preferences_url(mentee: Participant, now: datetime) -> str:
    _, raw = link_create(
        purpose=Purpose.PREFERENCES, participant=mentee, expires_at=now + PREFERENCES_VALID_FOR
    )
    return link_url(raw, Purpose.PREFERENCES)


def mentee_profile_text(mentee: Participant, program: Program) -> str:
    """Title, department, location, then the mentee's short answers ("Goals: Python, SQL")."""
    parts = [p for p in (mentee.title, mentee.department, mentee.location) if p]
    asked = questions_of(program, role=mentee.role)
    shown = [q for q in asked if not q.profile_field and q.kind != q.Kind.LONG_TEXT]
    for label, text in described(shown, mentee, mentee.answer_values):
        parts.append(gettext("%(label)s: %(text)s") % {"label": label, "text": text})
    return "; ".join(parts) or gettext("(no profile details given)")


def request_draft(request: MentorRequest, *, kind: str, key: str) -> Draft:
    """The email to a mentor with fresh Approve / Decline links for this request."""
    program, mentor, mentee = request.program, request.mentor, request.mentee
    links = {}
    for purpose in (Purpose.APPROVE, Purpose.DECLINE):
        _, raw = link_create(
            purpose=purpose, participant=mentor, expires_at=request.expires_at, object_id=request.pk
        )
        links[purpose] = link_url(raw, purpose)
    with program_language(program):
        values = {
            **common_values(program, mentor),
            "mentee_name": mentee.full_name,
            "mentee_profile": mentee_profile_text(mentee, program),
            "mentee_note": request.note or gettext("(no note)"),
            "deadline": deadline_label(request.expires_at, program.organization.timezone),
            "approve_link": links[Purpose.APPROVE],
            "decline_link": links[Purpose.DECLINE],
        }
    return Draft(kind=kind, key=key, to_email=mentor.email, to_name=mentor.full_name, values=values)


def assignment_drafts(
    program: Program, pairing_id: int, mentee: Participant, mentor: Participant, now: datetime
) -> list[Draft]:
    """The Mentorship Assignments email to both people, each with their session link."""
    drafts = []
    for person, partner, role in ((mentee, mentor, "mentor"), (mentor, mentee, "mentee")):
        _, raw = link_create(
            purpose=Purpose.SESSION,
            participant=person,
            expires_at=now + SESSION_LINK_VALID_FOR,
            object_id=pairing_id,
        )
        drafts.append(
            Draft(
                kind=EmailKind.ASSIGNMENT,
                key=f"assignment:{pairing_id}:{person.pk}",
                to_email=person.email,
                to_name=person.full_name,
                values={
                    **common_values(program, person),
                    "partner_name": partner.full_name,
                    "partner_email": partner.email,
                    "partner_role": _role_word(program, role),
                    "session_link": link_url(raw, Purpose.SESSION),
                },
            )
        )
    return drafts


# --- One email per person per event ----------------------------------------------------
#
# When one action gives a person several things at once (auto-pair confirm
# gives a mentor four mentees, a waitlist sweep offers one mentor three
# requests, a bulk End Pairing ends three of a mentor's pairings), they get
# one email listing them all. Its key names the event and the recipient, so a
# retried event writes nothing twice.


def new_links(purpose: str, rows: Sequence[tuple[int, int, int | None, datetime]]) -> list[str]:
    """Links for (program id, participant id, object id, expires at) rows, in one insert."""
    return links_bulk([(purpose, *row) for row in rows])


def _group(items, key) -> dict[int, list]:
    groups: dict[int, list] = defaultdict(list)
    for item in items:
        groups[key(item)].append(item)
    return groups


def request_drafts(requests: Sequence[MentorRequest], *, event: str) -> list[Draft]:
    """The mentor request emails for requests made in one event: one email per mentor.

    `requests` carry their program, mentee and mentor. A mentor with one
    request gets the usual Mentor request email; one with several gets one
    email listing each mentee with their own Approve and Decline links.
    """
    if not requests:
        return []
    urls = links_bulk(
        [
            (purpose, r.program_id, r.mentor_id, r.pk, r.expires_at)
            for purpose in (Purpose.APPROVE, Purpose.DECLINE)
            for r in requests
        ]
    )
    approve = {r.pk: url for r, url in zip(requests, urls[: len(requests)], strict=True)}
    decline = {r.pk: url for r, url in zip(requests, urls[len(requests) :], strict=True)}
    prime_answers(r.mentee for r in requests)
    # One Program object per program: its questions are read once (questions_of keeps
    # them on the object), not once per request of a sweep.
    programs = {}
    for r in requests:
        r.program = programs.setdefault(r.program_id, r.program)
    drafts = []
    for mentor_requests in _group(requests, lambda r: r.mentor_id).values():
        with program_language(mentor_requests[0].program):
            drafts.append(_mentor_requests_draft(mentor_requests, approve, decline, event=event))
    return drafts


def _mentor_requests_draft(mentor_requests, approve, decline, *, event: str) -> Draft:
    """One mentor's email for an event's requests (the caller sets the program's language)."""
    first = mentor_requests[0]
    program, mentor = first.program, first.mentor
    zone = program.organization.timezone
    if len(mentor_requests) == 1:
        return Draft(
            kind=EmailKind.MENTOR_REQUEST,
            key=f"mentor-request:{first.pk}",
            to_email=mentor.email,
            to_name=mentor.full_name,
            values={
                **common_values(program, mentor),
                "mentee_name": first.mentee.full_name,
                "mentee_profile": mentee_profile_text(first.mentee, program),
                "mentee_note": first.note or gettext("(no note)"),
                "deadline": deadline_label(first.expires_at, zone),
                "approve_link": approve[first.pk],
                "decline_link": decline[first.pk],
            },
        )
    lines = [
        gettext("- %(name)s (%(profile)s)\n  Approve: %(approve)s\n  Decline: %(decline)s")
        % {
            "name": r.mentee.full_name,
            "profile": mentee_profile_text(r.mentee, program),
            "approve": approve[r.pk],
            "decline": decline[r.pk],
        }
        for r in mentor_requests
    ]
    return Draft(
        kind=EmailKind.MENTOR_REQUESTS,
        key=f"mentor-requests:{event}:{mentor.pk}",
        to_email=mentor.email,
        to_name=mentor.full_name,
        values={
            **common_values(program, mentor),
            "count": str(len(mentor_requests)),
            "deadline": deadline_label(min(r.expires_at for r in mentor_requests), zone),
            "requests": "\n\n".join(lines),
        },
    )


def assignments_drafts(
    program: Program,
    pairs: Sequence[tuple[int, Participant, Participant]],
    now: datetime,
    *,
    event: str,
) -> list[Draft]:
    """Mentorship Assignments for pairings made in one event: one email per person.

    pairs: (pairing id, mentee, mentor). Each mentee gets the usual email; a
    mentor with one new mentee too; a mentor with several gets one email
    listing each mentee with the link to log their sessions.
    """
    if not pairs:
        return []
    expires = now + SESSION_LINK_VALID_FOR
    by_mentor = _group(pairs, lambda p: p[2].pk)
    single = [p for group in by_mentor.values() if len(group) == 1 for p in group]
    drafts = []
    for pairing_id, mentee, mentor in single:
        drafts += assignment_drafts(program, pairing_id, mentee, mentor, now)
    many = [p for group in by_mentor.values() if len(group) > 1 for p in group]
    if not many:
        return drafts
    urls = links_bulk(
        [(Purpose.SESSION, program.pk, mentee.pk, pid, expires) for pid, mentee, _ in many]
        + [(Purpose.SESSION, program.pk, mentor.pk, pid, expires) for pid, _, mentor in many]
    )
    mentee_links, mentor_links = urls[: len(many)], urls[len(many) :]
    for (pairing_id, mentee, mentor), link in zip(many, mentee_links, strict=True):
        drafts.append(
            Draft(
                kind=EmailKind.ASSIGNMENT,
                key=f"assignment:{pairing_id}:{mentee.pk}",
                to_email=mentee.email,
                to_name=mentee.full_name,
                values={
                    **common_values(program, mentee),
                    "partner_name": mentor.full_name,
                    "partner_email": mentor.email,
                    "partner_role": _role_word(program, "mentor"),
                    "session_link": link,
                },
            )
        )
    link_of = {p[0]: link for p, link in zip(many, mentor_links, strict=True)}
    for mentor_pairs in _group(many, lambda p: p[2].pk).values():
        mentor = mentor_pairs[0][2]
        with program_language(program):
            lines = [
                gettext("- %(name)s <%(email)s>\n  Log a session: %(link)s")
                % {"name": mentee.full_name, "email": mentee.email, "link": link_of[pid]}
                for pid, mentee, _mentor in mentor_pairs
            ]
        drafts.append(
            Draft(
                kind=EmailKind.ASSIGNMENTS,
                key=f"assignments:{event}:{mentor.pk}",
                to_email=mentor.email,
                to_name=mentor.full_name,
                values={
                    **common_values(program, mentor),
                    "count": str(len(mentor_pairs)),
                    "mentees": "\n\n".join(lines),
                },
            )
        )
    return drafts
