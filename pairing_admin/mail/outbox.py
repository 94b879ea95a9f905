"""Writing to the outbox: every email the product sends goes through here.

`outbox_add` renders drafts and inserts one row each, inside the caller's
transaction. The unique idempotency key drops a second row for the same
cause. After commit (never before) the rows are handed to the broker in
batches of BATCH_SIZE; `sending` sends them, `sweep` catches what the broker
or a dead worker dropped.
"""

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db import models, transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError

from pairing_admin.lib.errors import DomainError
from pairing_admin.lib.i18n import language_of
from pairing_admin.lib.text import one_line
from pairing_admin.mail.branding import brand_for, frame
from pairing_admin.mail.kinds import check_kind, default_in
from pairing_admin.mail.models import EmailTemplate, OutboundEmail, Suppression
from pairing_admin.mail.rendering import Template, render
from pairing_admin.mail.signals import email_resent
from pairing_admin.mail.tasks import send_outbox_batch

log = logging.getLogger(__name__)

BATCH_SIZE = 500
Status = OutboundEmail.Status


@dataclass
class Draft:
    """One email to write to the outbox. `key` names its cause, uniquely."""

    kind: str
    key: str
    to_email: str
    to_name: str = ""
    values: dict[str, str] = field(default_factory=dict)
    reply_to: str = ""


def default_template(program: models.Model | None, kind: str) -> Template:
    """Our wording of an email in the program's participant language (English
    without a program). The defaults are marked for translation in each app's
    email_kinds.py; a program's own template is sent as written instead."""
    return default_in(kind, language_of(program))


def template_for(program: models.Model | None, kind: str) -> Template:
    """The program's own version of an email, or our default in its language."""
    if program is not None:
        custom = EmailTemplate.objects.filter(program=program, kind=kind).first()
        if custom is not None:
            return Template(subject=custom.subject, text=custom.body_text, html=custom.body_html)
    return default_template(program, kind)


def outbox_add(
    drafts: Sequence[Draft],
    *,
    program: models.Model | None,
    batch_id: int | None = None,
    templates: dict[str, Template] | None = None,
) -> int:
    """Write drafts to the outbox in the current transaction; send after commit.

    `templates` fixes the template of some kinds (an invitation batch renders
    from the version the admin confirmed); other kinds use the program's own.
    Returns how many drafts were given (rows already present for the same key
    are left alone: the same cause never produces two emails).
    """
    templates = dict(templates or {})
    brands = {}
    rows = []
    for draft in drafts:
        check_kind(draft.kind)  # the column has no choices: the registry guards it
        if draft.kind not in templates:
            templates[draft.kind] = template_for(program, draft.kind)
        if draft.kind not in brands:
            brands[draft.kind] = brand_for(program, draft.kind)
        brand = brands[draft.kind]
        subject, text, body_html = render(draft.kind, templates[draft.kind], draft.values)
        # The program's name, logo and contact address around every participant's email.
        text, body_html = frame(text, body_html, brand)
        reply_to = draft.reply_to or (brand.contact_email if brand else "")
        rows.append(
            OutboundEmail(
                program=program,
                kind=draft.kind,
                idempotency_key=draft.key[:200],
                batch_id=batch_id,
                to_email=draft.to_email.strip().lower(),
                to_name=one_line(draft.to_name)[:200],  # a header: never a newline
                reply_to=reply_to,
                subject=subject,
                body_text=text,
                body_html=body_html,
            )
        )
    OutboundEmail.objects.bulk_create(rows, ignore_conflicts=True, batch_size=2000)
    keys = [row.idempotency_key for row in rows]
    # robust: a broker that is down must not turn a committed change into an
    # error page; the sweeper delivers those rows once the broker is back.
    transaction.on_commit(lambda: outbox_dispatch(keys=keys), robust=True)
    return len(rows)


def chunked(items: Sequence, size: int) -> Iterable[list]:
    """`items` in lists of at most `size`, in order."""
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def hand_over(ids: Sequence[int]) -> None:
    """Give rows to the broker, BATCH_SIZE ids per task.

    A broker that is down loses nothing: the rows stay queued and the sweeper
    hands them over again later. One warning says so; the rest is not tried.
    """
    for chunk in chunked(ids, BATCH_SIZE):
        try:
            send_outbox_batch.delay(chunk)
        except KombuOperationalError as exc:
            log.warning(
                "the task broker is unreachable (%s); %d emails wait for the sweeper", exc, len(ids)
            )
            return


def outbox_dispatch(*, keys: Sequence[str] = (), batch_id: int | None = None) -> int:
    """Hand queued rows to the broker, BATCH_SIZE ids per task."""
    queued = OutboundEmail.objects.filter(status=Status.QUEUED)
    if batch_id is not None:
        ids = list(queued.filter(batch_id=batch_id).order_by("pk").values_list("pk", flat=True))
    else:
        ids = []
        for start in range(0, len(keys), 1000):
            chunk = keys[start : start + 1000]
            ids += queued.filter(idempotency_key__in=chunk).values_list("pk", flat=True)
        ids.sort()
    hand_over(ids)
    return len(ids)


def outbox_resend(*, program: models.Model, email_id: int, user) -> OutboundEmail:
    """Send a failed email again: the same row goes back to the queue.

    Re-queueing the row (never copying it) keeps its idempotency key, so two
    admins clicking Resend at once cannot produce two emails: only the first
    conditional update (failed -> queued) wins. Suppressed addresses stay
    suppressed: an admin cannot override a bounce or a complaint from here.
    """
    with transaction.atomic():
        row = OutboundEmail.objects.filter(program=program, pk=email_id).first()
        if row is None:
            raise DomainError("There is no such email in this program's log.")
        if row.status != Status.FAILED:
            raise DomainError(
                f"Only failed emails can be sent again; this one is "
                f"{row.get_status_display().lower()}."
            )
        if Suppression.objects.filter(email=row.to_email).exists():
            raise DomainError(
                f"{row.to_email} bounced or complained earlier, so we no longer send to it."
            )
        who = getattr(user, "get_username", lambda: "an admin")()
        # A deliberate resend starts a fresh set of attempts (the sender may
        # have given up after MAX_ATTEMPTS); last_error keeps what happened.
        history = f"Resent by {who} after {row.attempts} attempt{'s' if row.attempts != 1 else ''}"
        requeued = OutboundEmail.objects.filter(pk=row.pk, status=Status.FAILED).update(
            status=Status.QUEUED,
            attempts=0,
            next_attempt_at=None,
            touched_at=timezone.now(),
            last_error=f"{history}: {row.last_error}"[:2000],
        )
        if not requeued:
            raise DomainError("This email has already been queued again.")
        # programs records it in the activity log, in this transaction.
        email_resent.send(sender=OutboundEmail, program=program, user=user, email=row)
        transaction.on_commit(lambda: hand_over([row.pk]), robust=True)
    row.refresh_from_db()
    return row
