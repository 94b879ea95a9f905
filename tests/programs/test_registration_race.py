"""Races on the emailed confirmation link, on PostgreSQL with real threads.

A person double-clicks Confirm, or a mail filter and the person press it at
once: the registration must be applied once, and the other press must say
the link was used rather than fail or add the person twice.
"""

import threading
from collections import Counter

import pytest
from django.db import connection
from django.test import Client

from invitations.email_kinds import EmailKind
from pairing_admin.mail.models import OutboundEmail
from programs.models import Participant, PendingRegistration, Program
from programs.registration import registration_request
from tests.programs import registering

pytestmark = [pytest.mark.needs_postgres, pytest.mark.django_db(transaction=True)]

ROUNDS = 5
PRESSES = 2


def _press_together(url: str, presses: int) -> list[tuple[int, str]]:
    """POST `url` from `presses` browsers at the same moment: (status, page) of each."""
    barrier = threading.Barrier(presses, timeout=30)
    answers: list[tuple[int, str]] = [(0, "")] * presses

    def press(index):
        try:
            client = Client()
            barrier.wait()
            response = client.post(url)
            answers[index] = (response.status_code, response.content.decode())
        except Exception as exc:  # a crash must show up in the assertion
            answers[index] = (-1, f"crashed: {type(exc).__name__}: {exc}")
        finally:
            connection.close()

    threads = [threading.Thread(target=press, args=(i,)) for i in range(presses)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers


def test_two_confirms_at_once_add_one_person_and_the_other_says_used(live):
    # Evergreen with pairing on: the confirm's hooks also invite the mentee,
    # so a second application would show as a second invitation email too.
    Program.objects.filter(pk=live.pk).update(program_type=Program.Type.EVERGREEN)
    program = Program.objects.select_related("organization").get(pk=live.pk)
    for round_number in range(ROUNDS):
        email = f"racer{round_number}@example.org"
        registration_request(program=program, email=email, role="mentee", first_name="Racer")
        url = registering.confirm_url(program, registering.emailed_code(program, email))

        answers = _press_together(url, PRESSES)

        statuses = Counter(status for status, _ in answers)
        assert statuses == Counter({200: 1, 410: 1}), (round_number, answers)
        pages = dict(answers)
        assert "you have joined" in pages[200]
        assert "This link has already been used" in pages[410]
        assert Participant.objects.filter(program=program, email=email).count() == 1
        assert PendingRegistration.objects.get(program=program, email=email).confirmed_at
        invitations = OutboundEmail.objects.filter(
            program=program, kind=EmailKind.INVITATION, to_email=email
        )
        assert invitations.count() == 1
