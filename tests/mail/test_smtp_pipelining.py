"""The SMTP backend (mail.smtp): MAIL, RCPT and DATA in one write, the same bytes on the wire."""

import re
import smtplib

import pytest
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.smtp import EmailBackend as DjangoEmailBackend

from pairing_admin.mail import message as mime_module
from pairing_admin.mail.message import OutboxEmail
from pairing_admin.mail.models import OutboundEmail
from pairing_admin.mail.outbox import Draft, outbox_add
from pairing_admin.mail.sending import outbox_send_batch
from programs.email_kinds import EmailKind
from tests.support.smtp import text_of

_LONG_LINE = "x" * 999  # over RFC 5322's 998: Django encodes the body quoted-printable


@pytest.fixture
def writes(monkeypatch):
    """Every write smtplib makes to the server, decoded."""
    seen: list[str] = []
    send = smtplib.SMTP.send

    def recording(self, s):
        seen.append(s.decode("ascii", "replace") if isinstance(s, bytes) else s)
        return send(self, s)

    monkeypatch.setattr(smtplib.SMTP, "send", recording)
    return seen


def _draft(n: int) -> Draft:
    return Draft(
        kind=EmailKind.SUPPORT_REQUEST,
        key=f"pipelining:{n}",
        to_email=f"person{n}@example.org",
        to_name=f"Person {n}",
        values={"request_subject": f"Question {n}", "message": f"Body {n}", "admin_name": "Ada"},
    )


def _envelope_writes(writes: list[str]) -> list[str]:
    return [w for w in writes if w.lower().startswith(("mail from", "rcpt to", "data"))]


def test_outbox_sends_each_envelope_in_one_write(db, program, smtp_server, writes):
    outbox_add([_draft(n) for n in (1, 2)], program=program)
    counts = outbox_send_batch(list(OutboundEmail.objects.values_list("pk", flat=True)))
    assert counts["sent"] == 2
    envelopes = [re.sub(r" size=\d+", "", w) for w in _envelope_writes(writes)]
    assert envelopes == [
        f"mail FROM:<pairing@localhost>\r\nrcpt TO:<person{n}@example.org>\r\ndata\r\n"
        for n in (1, 2)
    ]
    assert [str(m["To"]) for m in smtp_server.messages] == [
        "Person 1 <person1@example.org>",
        "Person 2 <person2@example.org>",
    ]


def test_a_server_without_pipelining_gets_one_command_per_write(db, program, smtp_server, writes):
    smtp_server.pipelining = False
    outbox_add([_draft(1)], program=program)
    assert outbox_send_batch(list(OutboundEmail.objects.values_list("pk", flat=True)))["sent"] == 1
    assert [w.split(":")[0].strip() for w in _envelope_writes(writes)] == [
        "mail FROM",
        "rcpt TO",
        "data",
    ]
    assert len(smtp_server.messages) == 1


def _send(message) -> None:
    with get_connection(fail_silently=False) as connection:
        connection.send_messages([message])


def test_lines_starting_with_a_dot_arrive_as_written(smtp_server, writes):
    body = "First\n.hidden\n..two dots\n.\nLast"
    message = OutboxEmail(subject="Dots", body=body, to=["Ada <ada@example.org>"])
    message.envelope_to = ["ada@example.org"]
    _send(message)
    [arrived] = smtp_server.wait_for(1)
    assert text_of(arrived).replace("\r\n", "\n") == body + "\n"  # SMTP ends it with a line end
    assert any(w.startswith("mail FROM") and w.endswith("data\r\n") for w in writes)


def test_a_refused_sender_raises_what_smtplib_raises_and_the_next_message_goes(
    smtp_server, monkeypatch
):
    async def handle_MAIL(self, server, session, envelope, address, options):
        if address == "bad@example.org":
            return "553 5.7.1 Sender refused"
        envelope.mail_from = address
        return "250 OK"

    monkeypatch.setattr(type(smtp_server), "handle_MAIL", handle_MAIL, raising=False)
    refused = OutboxEmail(subject="s", body="b", from_email="bad@example.org", to=["a@example.org"])
    fine = OutboxEmail(subject="s", body="b", to=["a@example.org"])
    for message in (refused, fine):
        message.envelope_to = ["a@example.org"]
    with get_connection(fail_silently=False) as connection:
        with pytest.raises(smtplib.SMTPSenderRefused) as error:
            connection.send_messages([refused])
        assert error.value.smtp_code == 553
        assert connection.send_messages([fine]) == 1  # the same connection, still in step
    assert len(smtp_server.wait_for(1)) == 1


@pytest.mark.parametrize(
    "envelope_to",
    [
        None,  # not given: Django's way
        ["other@example.org"],  # not the message's recipient
        ["zoë@example.org"],  # not plain ASCII
        ["a@example.org\r\nrcpt TO:<x@example.org>"],  # never written as it is
    ],
)
def test_an_envelope_that_is_not_plain_takes_djangos_way(smtp_server, monkeypatch, envelope_to):
    calls = []
    django_send = DjangoEmailBackend._send
    monkeypatch.setattr(
        DjangoEmailBackend, "_send", lambda self, m: calls.append(m) or django_send(self, m)
    )
    message = OutboxEmail(subject="s", body="b", to=["a@example.org"])
    if envelope_to is not None:
        message.envelope_to = envelope_to
    _send(message)
    assert calls == [message]
    assert len(smtp_server.wait_for(1)) == 1


_CASES = [
    {},
    {"html": None},  # text only
    {"body": "Grüße, Zoë 🎉\n", "html": "<p>Grüße</p>"},  # 8bit parts
    {"body": "CRLF\r\nlines\r\nand a lone\rcarriage return\n", "html": ""},
    {"reply_to": ["Help <help@example.org>"], "cc": ["c@example.org"]},
    {"to": ["Zoë Ångström <zoe@example.org>", "b@example.org"]},
    {"subject": "Ünïcode and a subject long enough to need folding " * 2},
    {"headers": {"Message-ID": "<m@x>", "X-Note": "Ünïcode value"}},
    {"body": _LONG_LINE},  # left to Django (quoted-printable)
    {"body": ""},  # left to Django
]


@pytest.mark.parametrize("fields", _CASES)
def test_wire_bytes_are_what_the_generator_writes(fields, monkeypatch):
    from django.core.mail import message as django_message

    monkeypatch.setattr(mime_module, "_boundary", lambda: "=_outbox_fixed")
    for module in (mime_module, django_message):
        monkeypatch.setattr(module, "formatdate", lambda localtime=False: "Sat, 28 Nov 2026")
        monkeypatch.setattr(module, "make_msgid", lambda domain=None: f"<fixed@{domain}>")
    fields = {
        "subject": "Submit Your Mentor Preferences",
        "body": "Hello\n\nLine",
        "html": "<p>Hello</p>",
        "to": ["Ada Lovelace <ada@example.org>"],
        "headers": {"X-Outbox-Id": "7"},
        **fields,
    }
    html = fields.pop("html")
    message = OutboxEmail(**fields)
    if html is not None:
        message.attach_alternative(html, "text/html")
    assert message.wire_bytes() == message.message().as_bytes(linesep="\r\n")


def test_wire_bytes_match_djangos_own_message():
    headers = {"Message-ID": "<fixed@pairing.invalid>", "Date": "Sat, 28 Nov 2026 10:00:00 -0000"}
    ours = OutboxEmail(
        subject="Hi", body="Hello\n.dot", to=["Ada <ada@example.org>"], headers=headers
    )
    ours.attach_alternative("<p>Hello</p>", "text/html")
    theirs = EmailMultiAlternatives(
        subject="Hi", body="Hello\n.dot", to=["Ada <ada@example.org>"], headers=headers
    )
    theirs.attach_alternative("<p>Hello</p>", "text/html")
    written = ours.wire_bytes()
    mime = theirs.message()
    mime.set_boundary(written.split(b'boundary="', 1)[1].split(b'"', 1)[0].decode())
    assert written == mime.as_bytes(linesep="\r\n")
