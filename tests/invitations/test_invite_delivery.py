"""Invite all for 1,000 mentees through the real pipeline: PostgreSQL, Redis, a worker, SMTP."""

import hashlib
import re
import time
from collections import Counter

import pytest
from django.urls import reverse

from invitations.models import InvitationBatch
from pairing_admin.mail.models import AccessLink, OutboundEmail
from programs.models import Participant
from programs.services import pairing_turn_on
from tests import factories
from tests.support.smtp import text_of

MENTEES = 1000
LINK = re.compile(r"https?://\S+/p/([A-Za-z0-9_-]+)/")


@pytest.mark.needs_postgres
@pytest.mark.needs_redis
@pytest.mark.parametrize("prepared_by", ["click", "worker"])
def test_invite_all_for_1000_mentees_sends_exactly_one_email_each_with_its_own_link(
    celery_worker, smtp_server, program, org_admin, org_admin_client, settings, prepared_by
):
    if prepared_by == "worker":  # the batch is committed alone; the worker writes 400 at a time
        settings.INVITE_IN_WORKER_ABOVE = MENTEES - 1
    else:
        settings.INVITE_IN_WORKER_ABOVE = MENTEES
    pairing_turn_on(program=program, user=org_admin)
    factories.bulk_mentees(program, MENTEES, last="Load")
    url = reverse("invite:all", kwargs={"program_id": program.pk})
    response = org_admin_client.post(url, {"expected": MENTEES})
    assert response.status_code == 302, response.content.decode()[:500]

    smtp_server.wait_for(MENTEES, timeout=120)
    time.sleep(2)  # anything extra (a duplicate) would arrive now
    messages = list(smtp_server.messages)
    assert len(messages) == MENTEES, celery_worker.log()[-3000:]
    recipients = Counter(str(m["To"]).rsplit("<", 1)[-1].rstrip(">") for m in messages)
    assert set(recipients) == {f"mentee{i}@example.org" for i in range(MENTEES)}
    assert max(recipients.values()) == 1

    by_email = dict(Participant.objects.filter(program=program).values_list("email", "pk"))
    links = dict(
        AccessLink.objects.filter(program=program).values_list("token_hash", "participant_id")
    )
    tokens = set()
    for message in messages:
        to = str(message["To"]).rsplit("<", 1)[-1].rstrip(">")
        text = text_of(message)
        token = LINK.search(text).group(1)
        tokens.add(token)
        # The link is this person's own: its hash belongs to the recipient.
        assert links[hashlib.sha256(token.encode()).hexdigest()] == by_email[to]
        name = Participant.objects.get(pk=by_email[to]).first_name if len(tokens) < 5 else None
        if name:
            assert f"Hi {name}," in text
    assert len(tokens) == MENTEES
    assert OutboundEmail.objects.filter(program=program, status="sent").count() == MENTEES
    batch = InvitationBatch.objects.get(program=program)
    assert (batch.state, batch.planned, batch.total) == ("ready", MENTEES, MENTEES)
    assert batch.prepared == (MENTEES if prepared_by == "worker" else 0)
