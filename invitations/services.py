"""Inviting mentees to pair: Invite all Mentees, Invite to Pair, bulk invite, resend, Stop.

One transaction writes the batch, the invitations, a personal link and an
outbox row per mentee (invite_pg.py does it set-based on PostgreSQL); above
INVITE_IN_WORKER_ABOVE mentees a worker writes it in chunks. The guarantees
(count confirmed, no duplicates, fresh links): docs/emails.md, "Invite all".
"""

from collections.abc import Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Case, F, QuerySet, Value, When
from django.db.models.functions import Concat
from django.template.defaultfilters import pluralize
from django.utils import timezone

from invitations import invite_pg, selectors
from invitations.email_kinds import EmailKind
from invitations.models import Invitation, InvitationBatch
from invitations.tasks import prepare_invitation_batch
from invitations.verbs import Verb
from pairing_admin.lib.db import is_postgresql
from pairing_admin.lib.errors import DomainError
from pairing_admin.lib.params import row_ids
from pairing_admin.mail.branding import program_name
from pairing_admin.mail.links import PREFERENCES_VALID_FOR, Purpose, link_url, new_token
from pairing_admin.mail.models import AccessLink, OutboundEmail
from pairing_admin.mail.outbox import Draft, chunked, outbox_add, outbox_dispatch, template_for
from pairing_admin.mail.rendering import Template
from programs.models import Participant, Program
from programs.services import activity_record, ensure_pairing_open

Kind = InvitationBatch.Kind
State = InvitationBatch.State
MAX_SELECTED = 500  # a bulk action comes from one page (50 rows); generous headroom
_IDS_PER_QUERY = 10_000  # SQLite caps the parameters of one statement


class CountChanged(DomainError):
    """The number of emails is no longer the one the admin confirmed."""

    def __init__(self, expected: int, count: int) -> None:
        self.expected = expected
        self.count = count
        if expected < 0:  # the form did not say which number was confirmed
            message = (
                f"Nothing was sent: please check the number of emails ({count:,}) "
                "and click Send Emails again."
            )
        else:
            message = (
                f"The number of emails changed from {expected:,} to {count:,} since you opened "
                "this prompt (someone else may have invited mentees meanwhile). Nothing was "
                "sent: please check the new number."
            )
        super().__init__(message)


def ensure_can_invite(program: Program) -> None:
    """Invitations are for user-led programs with pairing turned on."""
    if not program.is_user_led:
        raise DomainError(
            "This program is admin-led: mentees are paired by auto-pair, not invited to "
            "choose a mentor."
        )
    ensure_pairing_open(program)


def _values(program: Program, participant: Participant, link: str) -> dict[str, str]:
    return {
        "first_name": participant.first_name,
        "program_name": program_name(program),
        "organization_name": program.organization.name,
        "preferences_link": link,
    }


def invitation_key(mentee_id: int, sends: int) -> str:
    return f"invitation:{mentee_id}:{sends}"


def invitation_key_mentee(key: str) -> int | None:
    """The mentee of an invitation_key, or None for any other key."""
    kind, _, rest = key.partition(":")
    return int(rest.split(":")[0]) if kind == "invitation" else None


def _use_sql(use_sql: bool | None) -> bool:
    return is_postgresql() if use_sql is None else use_sql


def _lock(program: Program) -> Program:
    # The row lock serialises invite clicks, batch preparation and Turn off
    # Pairing for this program. NO KEY: rows that only point at the program
    # (participants imported or registering, requests) take a KEY SHARE lock
    # for their foreign key, which FOR UPDATE would make wait, and, with the
    # kept counts they also lock, deadlock with the invite.
    locked = (
        Program.objects.select_for_update(no_key=True)
        .select_related("organization")
        .get(pk=program.pk)
    )
    ensure_can_invite(locked)
    ensure_none_preparing(locked)
    return locked


def ensure_none_preparing(program: Program) -> None:
    """New invitations wait while a large batch of the program is still being written."""
    preparing = selectors.preparing_batch(program)
    if preparing is not None:
        raise DomainError(
            f"Invitations for {preparing[1]:,} mentees are still being written. Nothing was "
            f"sent now: please try again once they are all written (the batch's progress "
            f"page shows how far it got)."
        )


def _check(chosen: QuerySet[Participant], expected: int | None) -> int:
    """The number of emails for `chosen` (its sendable mentees), as the prompt counted it."""
    count, skipped = selectors.prompt_counts(chosen)
    if expected is not None and count != expected:
        raise CountChanged(expected, count)
    if count == 0 and skipped:
        raise DomainError(
            f"Nothing was sent: the {skipped:,} mentee{pluralize(skipped)} you chose "
            f"{pluralize(skipped, 'has,have')} an address that bounced or complained, so we "
            f"no longer send to it."
        )
    if count == 0:
        raise DomainError("There is nobody to invite: every mentee you chose is already invited.")
    return count


def _start(program: Program, user, kind: str) -> InvitationBatch:
    return InvitationBatch.objects.create(
        program=program, kind=kind, created_by=user, template=template_snapshot(program)
    )


def template_snapshot(program: Program) -> dict[str, str]:
    """The invitation template as it is now, to keep on the batch the admin confirmed."""
    template = template_for(program, EmailKind.INVITATION)
    return {"subject": template.subject, "text": template.text, "html": template.html}


def batch_template(batch: InvitationBatch) -> Template:
    """What every email of the batch is rendered from: its snapshot, taken at the click.

    A batch from before snapshots existed has none and uses the current template.
    """
    snapshot = batch.template or {}
    if not snapshot.get("subject"):
        return template_for(batch.program, EmailKind.INVITATION)
    return Template(
        subject=snapshot["subject"], text=snapshot.get("text", ""), html=snapshot.get("html", "")
    )


def _finish(batch: InvitationBatch, sent: int, *, user, verb: str) -> InvitationBatch:
    batch.total = batch.planned = sent
    batch.save(update_fields=["total", "planned"])
    detail = f"{sent:,} email{pluralize(sent)} ({batch.get_kind_display()})"
    activity_record(program=batch.program, actor=user, verb=verb, detail=detail)
    return batch


# --- The services ----------------------------------------------------------------------


def invitation_send_all(
    *, program: Program, user, expected: int | None, use_sql: bool | None = None
) -> InvitationBatch:
    """Invite all Mentees: every mentee Not Invited by Admin, as confirmed."""
    return _invite(program=program, user=user, ids=None, expected=expected, use_sql=use_sql)


def invitation_send_selected(
    *,
    program: Program,
    user,
    mentee_ids: Sequence[int],
    expected: int | None,
    use_sql: bool | None = None,
) -> InvitationBatch:
    """Invite to Pair / bulk invite: the chosen mentees that are still not invited."""
    return _invite(
        program=program, user=user, ids=_clean_ids(mentee_ids), expected=expected, use_sql=use_sql
    )


def invitation_send_automatic(
    *, program: Program, mentee_ids: Sequence[int], use_sql: bool | None = None
) -> InvitationBatch | None:
    """Invite new mentees of an Evergreen program at once: nobody clicks Invite.

    Called in the transaction that added them (a registration, a CSV import;
    see `invite_new_mentees`). Does nothing unless the program is Evergreen,
    user-led and pairing is on. Of `mentee_ids` it invites those that Invite
    to Pair would: mentees Not Invited by Admin whose address is not
    suppressed, each with one invitation, one personal link and one email in
    the outbox. The email's idempotency key is the mentee's first invitation's
    (invitation:<mentee>:1), and an invitation is one row per mentee, so a
    second call writes nothing, and Stop sending treats these like any other.
    Returns the batch, or None when nobody was invited.
    """
    ids = sorted(row_ids(mentee_ids))
    if not ids or not program.is_evergreen:
        return None  # the common case (a cohort program), decided without a query
    with transaction.atomic():
        # FOR NO KEY UPDATE queues with Turn off Pairing and invite clicks (FOR
        # UPDATE) and with other automatic invitations, but not with the
        # key-share lock that every row pointing at the program takes when its
        # transaction commits: the program's other writes never wait for a
        # large import's invitations. No wait for a batch a worker is still
        # writing either: its mentees were chosen before these were added.
        program = (
            Program.objects.select_for_update(no_key=True)
            .select_related("organization")
            .get(pk=program.pk)
        )
        if not (program.is_evergreen and program.is_user_led and program.pairing_enabled):
            return None
        invitable = []
        for chunk in chunked(ids, _IDS_PER_QUERY):
            pool = selectors.sendable(selectors.mentees_not_invited(program).filter(pk__in=chunk))
            invitable += pool.order_by("pk").values_list("pk", flat=True)
        if not invitable:
            return None
        batch = _start(program, None, Kind.SINGLE if len(invitable) == 1 else Kind.SELECTED)
        sent = 0
        for chunk in chunked(invitable, _IDS_PER_QUERY):
            pool = selectors.sendable(selectors.mentees_not_invited(program).filter(pk__in=chunk))
            sent += _write(program, batch, pool, None, use_sql, chunk=chunk)
        batch.total = batch.planned = sent
        batch.save(update_fields=["total", "planned"])
        detail = (
            f"{sent:,} email{pluralize(sent)} (automatic, to new mentee{pluralize(sent)} "
            "of this Evergreen program)"
        )
        activity_record(program=program, actor=None, verb=Verb.INVITATIONS_SENT, detail=detail)
        return batch


def invite_new_mentees(*, program: Program, participant_ids: Sequence[int]) -> None:
    """programs.hooks' participants_added callback (registered in InvitationsConfig.ready)."""
    invitation_send_automatic(program=program, mentee_ids=participant_ids)


def invitation_resend(
    *,
    program: Program,
    user,
    mentee_ids: Sequence[int],
    expected: int | None,
    asked_at: datetime,
    use_sql: bool | None = None,
) -> InvitationBatch:
    """Send the invitation again to invited mentees who have not requested a mentor yet.

    Only invitations last sent before `asked_at` (when the prompt was shown)
    are resent: a second click on the same prompt sends nothing more.
    """
    ids = _clean_ids(mentee_ids)
    with transaction.atomic():
        program = _lock(program)
        chosen = resend_pool(program, ids, asked_at)
        _check(chosen, expected)
        pool = selectors.sendable(chosen)
        batch = _start(program, user, Kind.RESEND)
        now = timezone.now()
        if _use_sql(use_sql):
            sent = invite_pg.resend(program, batch, pool, now, template=batch_template(batch))
            transaction.on_commit(lambda: outbox_dispatch(batch_id=batch.pk), robust=True)
        else:
            sent = _resend_python(program, batch, pool, now)
        return _finish(batch, sent, user=user, verb=Verb.INVITATIONS_RESENT)


def invitation_batch_stop(*, program: Program, batch_id: int, user) -> int:
    """Stop a batch: its emails not yet handed to the email service are never sent.

    In one transaction, under the program's lock (so no chunk of a large batch
    is being written meanwhile): a batch still being prepared stops where it
    is; its stoppable emails (`stoppable`: queued, or held by a worker whose
    lease ran out) become "stopped", while those a live worker is sending go
    out as usual (it checks its lease before each message); their idempotency keys
    are freed, so inviting those mentees again later writes new emails; and
    the mentees this batch invited whose email was stopped go back to Not
    Invited by Admin (for a resend, the earlier invitation stands). Returns
    how many emails were stopped; stopping twice stops nothing more.
    """
    with transaction.atomic():
        Program.objects.select_for_update(no_key=True).filter(pk=program.pk).first()
        batch = InvitationBatch.objects.select_for_update().filter(program=program, pk=batch_id)
        batch = batch.first()
        if batch is None:
            raise DomainError("There is no such batch of invitations.")
        who = getattr(user, "get_username", lambda: "an admin")()
        was_preparing = batch.state == State.PREPARING
        if was_preparing:
            batch.stop_reason = f"Stopped by {who}."
            _settle(batch, State.STOPPED)
            batch.touched_at = timezone.now()
            batch.save(update_fields=["state", "total", "mentee_ids", "stop_reason", "touched_at"])
        # Locked first (in id order, as a worker's lease renewal locks them): a
        # worker claiming rows skips locked ones, and a renewal waits, so every
        # row read here is one this transaction stops (and no other).
        rows = list(
            OutboundEmail.objects.select_for_update()
            .filter(selectors.stoppable(batch.pk))
            .order_by("pk")
            .values_list("pk", "idempotency_key")
        )
        stopped = 0
        for chunk in chunked([pk for pk, _ in rows], 1000):
            stopped += OutboundEmail.objects.filter(pk__in=chunk).update(
                status=OutboundEmail.Status.STOPPED,
                claim="",
                idempotency_key=Concat(F("idempotency_key"), Value(f":stopped-{batch.pk}")),
                # A row a dead worker held may be the one message it had handed
                # over when it died (SMTP cannot tell us): say so, as the sweep does.
                last_error=Case(
                    When(
                        status=OutboundEmail.Status.SENDING,
                        then=Value(
                            f"Stopped by {who}: its worker had stopped mid-batch; not sent,"
                            " unless it was the one message in the worker's hands then"[:2000]
                        ),
                    ),
                    default=Value(f"Not sent: {who} stopped this batch of invitations"[:2000]),
                ),
                touched_at=timezone.now(),
            )
        if batch.kind != Kind.RESEND:
            mentee_ids = [m for _, key in rows if (m := invitation_key_mentee(key)) is not None]
            for chunk in chunked(mentee_ids, 1000):
                Invitation.objects.filter(batch=batch, sends=1, mentee_id__in=chunk).delete()
        if stopped or was_preparing:
            activity_record(
                program=program,
                actor=user,
                verb=Verb.INVITATIONS_STOPPED,
                detail=f"{stopped:,} email{pluralize(stopped)} not sent ({batch.get_kind_display()})",
            )
    return stopped


def resend_pool(program: Program, ids: list[int], asked_at: datetime) -> QuerySet[Participant]:
    """The chosen invited mentees whose invitation may be resent (suppressed ones included:
    the prompt counts them as skipped; only `selectors.sendable` of them get an email)."""
    return selectors.mentees_invited(program).filter(
        pk__in=ids, invitation__last_sent_at__lt=asked_at
    )


def _clean_ids(ids: Sequence) -> list[int]:
    clean = sorted(row_ids(ids))
    if not clean:
        raise DomainError("Please select at least one mentee.")
    if len(clean) > MAX_SELECTED:
        raise DomainError(f"Please select at most {MAX_SELECTED} mentees at a time.")
    return clean


def _invite(*, program, user, ids, expected, use_sql) -> InvitationBatch:
    with transaction.atomic():
        program = _lock(program)
        chosen = selectors.mentees_not_invited(program)
        if ids is not None:
            chosen = chosen.filter(pk__in=ids)
        count = _check(chosen, expected)
        pool = selectors.sendable(chosen)
        if ids is None and count > settings.INVITE_IN_WORKER_ABOVE:
            return _stage(program, user, pool, expected)
        kind = Kind.ALL if ids is None else (Kind.SINGLE if len(ids) == 1 else Kind.SELECTED)
        batch = _start(program, user, kind)
        sent = _write(program, batch, pool, user, use_sql)
        return _finish(batch, sent, user=user, verb=Verb.INVITATIONS_SENT)


def _write(program, batch, pool, user, use_sql, *, chunk: Sequence[int] = ()) -> int:
    """Invitations, links and outbox rows for `pool`, in the caller's transaction.

    After commit the batch's emails go to the broker: all of them, or for one
    chunk of a staged batch only that chunk's (the earlier chunks' emails
    were handed over already).
    """
    now = timezone.now()
    if not _use_sql(use_sql):
        return _invite_python(program, batch, pool, user, now)
    sent = invite_pg.invite(program, batch, pool, user, now, template=batch_template(batch))
    if chunk:
        keys = [invitation_key(pk, 1) for pk in chunk]
        transaction.on_commit(lambda: outbox_dispatch(keys=keys), robust=True)
    else:
        transaction.on_commit(lambda: outbox_dispatch(batch_id=batch.pk), robust=True)
    return sent


# --- Large batches, prepared by a worker -----------------------------------------------


def _stage(program, user, pool, expected) -> InvitationBatch:
    """Commit the batch with the mentees it covers; a worker writes their emails."""
    ids = list(pool.order_by("pk").values_list("pk", flat=True))
    if expected is not None and len(ids) != expected:  # changed since the count
        raise CountChanged(expected, len(ids))
    batch = InvitationBatch.objects.create(
        program=program,
        kind=Kind.ALL,
        created_by=user,
        state=State.PREPARING,
        planned=len(ids),
        total=len(ids),
        mentee_ids=ids,
        touched_at=timezone.now(),
        template=template_snapshot(program),
    )
    transaction.on_commit(lambda: _prepare_later(batch.pk), robust=True)
    detail = f"{len(ids):,} email{pluralize(len(ids))} ({batch.get_kind_display()})"
    activity_record(program=program, actor=user, verb=Verb.INVITATIONS_SENT, detail=detail)
    return batch


def _prepare_later(batch_id: int) -> None:
    prepare_invitation_batch.delay(batch_id)


def invitation_batch_prepare(
    batch_id: int, *, chunk: int | None = None, use_sql: bool | None = None
) -> dict[str, int]:
    """Write a staged batch's invitations, links and emails, one chunk per transaction.

    Each chunk locks the program (as a click would) and the batch, takes the
    next mentees from where the batch got to, writes them exactly like a
    small batch and moves the batch on, all in one transaction; its emails
    are handed to the broker after that commit. Two preparers at once take
    turns on the locks and never write a chunk twice (the unique invitation
    per mentee and the outbox's idempotency keys would refuse it anyway).
    If pairing was turned off meanwhile, the batch stops where it is and says
    why: the mentees not reached yet stay Not Invited by Admin.
    """
    chunk = chunk or settings.INVITE_WORKER_CHUNK
    chunks = 0
    while True:
        with transaction.atomic():
            program_id = (
                InvitationBatch.objects.filter(pk=batch_id, state=State.PREPARING)
                .values_list("program_id", flat=True)
                .first()
            )
            if program_id is None:
                break
            program = (
                Program.objects.select_for_update()
                .select_related("organization")
                .get(pk=program_id)
            )
            batch = (
                InvitationBatch.objects.select_for_update()
                .filter(pk=batch_id, state=State.PREPARING)
                .first()
            )
            if batch is None:
                break
            if _stop_if_closed(program, batch):
                break
            ids = batch.mentee_ids[batch.prepared : batch.prepared + chunk]
            # An address suppressed since the click is skipped like a removed mentee.
            pool = selectors.sendable(selectors.mentees_not_invited(program).filter(pk__in=ids))
            _write(program, batch, pool, batch.created_by, use_sql, chunk=ids)
            batch.prepared += len(ids)
            fields = ["prepared", "touched_at"]
            if batch.prepared >= len(batch.mentee_ids):
                _settle(batch, State.READY)
                fields += ["state", "total", "mentee_ids"]
            batch.touched_at = timezone.now()
            batch.save(update_fields=fields)
            chunks += 1
    return {"chunks": chunks}


def _stop_if_closed(program: Program, batch: InvitationBatch) -> bool:
    try:
        ensure_can_invite(program)
    except DomainError as exc:
        batch.stop_reason = str(exc)[:300]
        _settle(batch, State.STOPPED)
        batch.touched_at = timezone.now()
        batch.save(update_fields=["state", "total", "mentee_ids", "stop_reason", "touched_at"])
        return True
    return False


def _settle(batch: InvitationBatch, state: str) -> None:
    batch.state = state
    batch.total = OutboundEmail.objects.filter(batch_id=batch.pk).count()
    batch.mentee_ids = []


def invitation_batches_resume(*, stale_after: timedelta | None = None) -> dict[str, int]:
    """Hand batches whose preparation stalled (broker down, worker died) to a worker again.

    Safe to run while a worker is still on one: preparers take turns per chunk.
    """
    if stale_after is None:
        stale_after = timedelta(seconds=settings.OUTBOX_STALE_SECONDS)
    stalled = list(
        InvitationBatch.objects.filter(
            state=State.PREPARING, touched_at__lt=timezone.now() - stale_after
        ).values_list("pk", flat=True)
    )
    for pk in stalled:
        _prepare_later(pk)
    return {"resumed": len(stalled)}


# --- The portable path (SQLite, the demo); invite_pg.py is the PostgreSQL one ------------


def _links_and_drafts(program, batch, invitations: list[tuple[Participant, int]], now):
    expires = now + PREFERENCES_VALID_FOR
    links, drafts = [], []
    for mentee, sends in invitations:
        raw, digest = new_token()
        links.append(
            AccessLink(
                token_hash=digest,
                purpose=Purpose.PREFERENCES,
                program=program,
                participant=mentee,
                expires_at=expires,
            )
        )
        drafts.append(
            Draft(
                kind=EmailKind.INVITATION,
                key=invitation_key(mentee.pk, sends),
                to_email=mentee.email,
                to_name=mentee.full_name,
                values=_values(program, mentee, link_url(raw, Purpose.PREFERENCES)),
            )
        )
    AccessLink.objects.bulk_create(links, batch_size=2000)
    templates = {EmailKind.INVITATION: batch_template(batch)}
    return outbox_add(drafts, program=program, batch_id=batch.pk, templates=templates)


def _invite_python(program, batch, pool, user, now) -> int:
    mentees = list(pool)
    Invitation.objects.bulk_create(
        [
            Invitation(
                program=program,
                mentee=m,
                batch=batch,
                invited_by=user,
                invited_at=now,
                sends=1,
                last_sent_at=now,
            )
            for m in mentees
        ],
        batch_size=2000,
    )
    return _links_and_drafts(program, batch, [(m, 1) for m in mentees], now)


def _resend_python(program, batch, pool, now) -> int:
    mentees = list(pool.select_related("invitation"))
    invitations = [m.invitation for m in mentees]
    for invitation in invitations:
        invitation.sends += 1
        invitation.last_sent_at = now
    Invitation.objects.bulk_update(invitations, ["sends", "last_sent_at"], batch_size=2000)
    return _links_and_drafts(program, batch, [(m, m.invitation.sends) for m in mentees], now)
