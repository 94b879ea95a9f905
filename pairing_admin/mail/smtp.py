"""Django's SMTP backend, with one round trip fewer per message's envelope.

Sending one email over smtplib is four writes and four waits for the
server: MAIL FROM, RCPT TO, DATA, then the message. A server that offers
PIPELINING (RFC 2920; Postfix and every provider's relay do) takes the first
three in one write, so each message costs two round trips instead of four.
The envelope addresses are also not parsed back out of the To header for
each message (Django's sanitize_address, then smtplib's quoteaddr: a third
of an SMTP send's CPU) when the plain address is at hand, and the outbox's
own messages are written out by `OutboxEmail.wire_bytes`.

Replies, errors and the connection's state after an error are smtplib's own
(`smtplib.SMTP.sendmail`), so `sending._classify` reads them unchanged.
Anything unusual (no PIPELINING, an address that is not plain ASCII, an
envelope the message does not name) takes Django's own way.
"""

import contextlib
import functools
import re
import smtplib

from django.conf import settings
from django.core.mail.backends.smtp import EmailBackend as DjangoEmailBackend
from django.core.mail.message import sanitize_address

# An address smtplib would send unchanged inside <>: ASCII, no spaces, no
# brackets, quotes or line breaks, one @ with a dotted-or-not domain after it.
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9.-]+")
_LEADING_DOT = re.compile(rb"(?m)^\.")  # what smtplib doubles (RFC 5321's dot-stuffing)


@functools.lru_cache(maxsize=64)
def _envelope_sender(from_email: str, encoding: str) -> str:
    """The MAIL FROM address, worked out once per sender (every message of a batch shares it)."""
    return smtplib.quoteaddr(sanitize_address(from_email, encoding))


class EmailBackend(DjangoEmailBackend):
    """Django's SMTP backend; messages carrying `envelope_to` are pipelined."""

    def _send(self, email_message):
        envelope_to = getattr(email_message, "envelope_to", None)
        connection = self.connection
        if (
            not envelope_to
            or connection is None
            or not all(map(_PLAIN_ADDRESS.fullmatch, envelope_to))
            or set(envelope_to) != _bare(email_message.recipients())
        ):
            return super()._send(email_message)
        encoding = email_message.encoding or settings.DEFAULT_CHARSET
        sender = _envelope_sender(email_message.from_email, encoding)
        data = _wire_bytes(email_message)
        try:
            connection.ehlo_or_helo_if_needed()
            if not connection.has_extn("pipelining") or not sender.isascii():
                connection.sendmail(sender, list(envelope_to), data)
            else:
                _pipelined_sendmail(connection, sender, envelope_to, data)
        except smtplib.SMTPException:
            if not self.fail_silently:
                raise
            return False
        return True


def _wire_bytes(email_message) -> bytes:
    """The message as Django's backend writes it (`OutboxEmail.wire_bytes` does it cheaper)."""
    write = getattr(email_message, "wire_bytes", None)
    return write() if write is not None else email_message.message().as_bytes(linesep="\r\n")


def _bare(recipients) -> set[str]:
    """The addresses of "Name <address>" recipients (what the envelope must name)."""
    bare = set()
    for recipient in recipients:
        address = recipient.rpartition("<")[2].rstrip(">") if recipient.endswith(">") else recipient
        bare.add(address)
    return bare


def _pipelined_sendmail(connection: smtplib.SMTP, sender: str, recipients, data: bytes) -> None:
    """`smtplib.SMTP.sendmail(sender, recipients, data)` with MAIL, RCPT and DATA in one write.

    The server answers the three in order, and refuses DATA (503/554) when it
    refused MAIL or every RCPT; then the message is not sent. A server that
    accepts DATA all the same gets the connection closed rather than an
    empty message. A recipient refused while others were accepted is left
    out, as sendmail leaves it (Django ignores the list sendmail returns).
    """
    size = f" size={len(data)}" if connection.has_extn("size") else ""
    commands = [f"mail FROM:{sender}{size}", *(f"rcpt TO:<{to}>" for to in recipients), "data"]
    connection.send("".join(f"{command}\r\n" for command in commands))
    mail = connection.getreply()
    if mail[0] == 421:
        connection.close()
        raise smtplib.SMTPSenderRefused(mail[0], mail[1], sender)
    refused = {}
    for to in recipients:
        code, answer = connection.getreply()
        if code not in (250, 251):
            refused[to] = (code, answer)
        if code == 421:
            connection.close()
            raise smtplib.SMTPRecipientsRefused(refused)
    code, answer = connection.getreply()
    if mail[0] != 250 or len(refused) == len(recipients):
        if code == 354:  # a server that should have refused DATA
            connection.close()
        else:
            _reset(connection)
        if mail[0] != 250:
            raise smtplib.SMTPSenderRefused(mail[0], mail[1], sender)
        raise smtplib.SMTPRecipientsRefused(refused)
    if code == 354:
        connection.send(_dot_stuffed(data))
        code, answer = connection.getreply()
    if code != 250:
        if code == 421:
            connection.close()
        else:
            _reset(connection)
        raise smtplib.SMTPDataError(code, answer)


def _reset(connection: smtplib.SMTP) -> None:
    """RSET, as sendmail does after a refusal: a server that hung up raises nothing here,
    so the refusal itself is what the caller learns."""
    with contextlib.suppress(smtplib.SMTPServerDisconnected):
        connection.rset()


def _dot_stuffed(data: bytes) -> bytes:
    """The message as smtplib.SMTP.data writes bytes: leading dots doubled, then ".\r\n"."""
    quoted = _LEADING_DOT.sub(b"..", data)
    if not quoted.endswith(b"\r\n"):
        quoted += b"\r\n"
    return quoted + b".\r\n"
