"""The outbox's email message: what Django's EmailMultiAlternatives writes, cheaper.

A worker builds one message per email (thousands a minute), and most of a
send's CPU went into Python's MIME constructors and header folding. The
message here is the same object with the same bytes (tests compare them with
Django's for many kinds of content), built with less work; anything the
outbox does not send takes Django's own way.
"""

import copy
import functools
import re
import secrets
from email.message import Message
from email.policy import compat32
from email.utils import formatdate, make_msgid

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import (
    RFC5322_EMAIL_LINE_LENGTH_LIMIT,
    SafeMIMEMultipart,
    SafeMIMEText,
    forbid_multi_line_headers,
    utf8_charset,
)
from django.core.mail.utils import DNS_NAME

# A header value that needs neither folding nor encoding: visible ASCII words
# joined by single spaces (the line length is checked too).
_PLAIN_HEADER = re.compile(r"[!-~]+(?: [!-~]+)*")


class _HeaderPolicy(type(compat32)):
    """Python's default email policy, minus the cost of folding plain headers.

    compat32 runs every header through email.header.Header to fold and encode
    it, about 15 per message. A plain short value comes out of that unchanged
    (tests compare the two), so it is written as it is.
    """

    def _fold(self, name, value, sanitize):
        if (
            isinstance(value, str)
            and len(name) + 2 + len(value) <= (self.max_line_length or 78)
            and _PLAIN_HEADER.fullmatch(value)
        ):
            return f"{name}: {value}{self.linesep}"
        return super()._fold(name, value, sanitize)


HEADER_POLICY = _HeaderPolicy()
# What as_bytes(linesep="\r\n") folds headers with: the SMTP wire's line ends.
_WIRE_POLICY = HEADER_POLICY.clone(linesep="\r\n")
# The line ends Python's generator rewrites (email.generator.NLCRE).
_LINE_END = re.compile(r"\r\n|\r|\n")


# What Django's message() adds or handles itself; a message whose own headers
# name one of these is left to Django (see OutboxEmail._build).
_HEADERS_DJANGO_HANDLES = frozenset({"from", "to", "cc", "reply-to", "content-type"})


@functools.lru_cache(maxsize=256)
def _checked_header(name: str, value: str) -> tuple[str, str]:
    """Django's header check and encoding, remembered: a batch's subjects and
    senders repeat, and encoding a subject is the costliest part of it."""
    return forbid_multi_line_headers(name, value, "utf-8")


def _text_part(text: str, subtype: str) -> SafeMIMEText | None:
    """`SafeMIMEText(text, subtype, "utf-8")` as Django builds it, built directly.

    Python's constructor parses back the Content-Type header it has just
    written, twice, and decodes the body again to choose 7bit or 8bit. None
    where Django would encode the body (a line over 998 bytes: quoted-printable)
    or fail (text that is not valid Unicode): that is left to Django.
    """
    try:
        data = text.encode()
    except UnicodeEncodeError:
        return None
    # bytes.splitlines splits at fewer characters than str.splitlines, which
    # Django uses, so its lines are never shorter: none too long here means
    # none too long for Django either.
    if len(data) > RFC5322_EMAIL_LINE_LENGTH_LIMIT and any(
        len(line) > RFC5322_EMAIL_LINE_LENGTH_LIMIT for line in data.splitlines()
    ):
        return None
    ascii = data.isascii()
    part = SafeMIMEText.__new__(SafeMIMEText)
    Message.__init__(part)
    part.encoding = "utf-8"
    # compat32 keeps a header as the (name, value) it was given: what msg[name] = value does.
    part._headers += [
        ("Content-Type", f'text/{subtype}; charset="utf-8"'),
        ("MIME-Version", "1.0"),
        ("Content-Transfer-Encoding", "7bit" if ascii else "8bit"),
    ]
    # Python keeps an 8bit body as its UTF-8 bytes decoded with surrogateescape.
    part.set_payload(text if ascii else data.decode("ascii", "surrogateescape"))
    part._charset = utf8_charset  # what set_payload(text, charset) records
    return part


class OutboxEmail(EmailMultiAlternatives):
    """Django's message, made cheaper to build, copy and write out.

    - The message is built directly (`_build`) rather than through Python's
      MIME constructors, which parse back every header they write: two thirds
      of a locmem send's CPU. Same objects, same headers, same bytes: tests
      compare them with Django's own for many kinds of content. Anything we
      do not send (attachments, long lines, other charsets) takes Django's way.
    - The MIME boundaries are chosen up front. Left unset, Python's generator
      draws one while writing and compiles a new regular expression for each
      to check it against the body: a third of an SMTP send's CPU. 128 random
      bits cannot occur in a body by chance, nor be guessed by a template's
      author.
    - Plain headers skip compat32's folding machinery (`_HeaderPolicy`).
    - `wire_bytes` writes such a message out for SMTP itself: Python's
      generator walks every part and header through generic machinery, a
      quarter of an SMTP send's CPU once the envelope is pipelined.
    - A copy (Django's locmem backend keeps a deep copy of every message it
      "sends") shares the strings, which cannot change, and the connection
      instead of copying them one by one.
    """

    def message(self, *args, **kwargs):
        msg = None if args or kwargs else self._build()
        if msg is None:
            msg = super().message(*args, **kwargs)
            for part in msg.walk():
                if part.is_multipart():
                    part.set_boundary(_boundary())
        msg.policy = HEADER_POLICY
        return msg

    def wire_bytes(self) -> bytes:
        """`message().as_bytes(linesep="\r\n")`: what an SMTP backend sends (tests compare them)."""
        msg = self._build()
        if msg is None:
            return self.message().as_bytes(linesep="\r\n")
        return _flatten(msg)

    def _build(self) -> Message | None:
        """What Django's message() returns, for the messages the outbox sends."""
        if (
            (self.encoding or settings.DEFAULT_CHARSET) != "utf-8"
            or self.attachments
            or not isinstance(self.body, str)
            or not self.body
            or not isinstance(self.subject, str)
            or not isinstance(self.from_email, str)
            or not all(
                isinstance(content, str) and mimetype == "text/html"
                for content, mimetype in self.alternatives
            )
            or any(name.lower() in _HEADERS_DJANGO_HANDLES for name in self.extra_headers)
        ):
            return None
        msg = _text_part(self.body, "plain")
        if msg is None:
            return None
        if self.alternatives:
            parts = [msg]
            for content, _ in self.alternatives:
                parts.append(_text_part(content, "html"))
                if parts[-1] is None:
                    return None
            msg = SafeMIMEMultipart.__new__(SafeMIMEMultipart)
            Message.__init__(msg)
            msg.encoding = "utf-8"
            msg._headers += [
                ("Content-Type", f'multipart/alternative; boundary="{_boundary()}"'),
                ("MIME-Version", "1.0"),
            ]
            msg._payload = parts  # what attach() builds
        headers = [
            _checked_header("Subject", self.subject),
            _checked_header("From", self.from_email),
        ]
        unchecked = [
            (name, ", ".join(str(address) for address in addresses))
            for name, addresses in (("To", self.to), ("Cc", self.cc), ("Reply-To", self.reply_to))
            if addresses
        ]
        names = {name.lower() for name in self.extra_headers}
        if "date" not in names:
            unchecked.append(("Date", formatdate(localtime=settings.EMAIL_USE_LOCALTIME)))
        if "message-id" not in names:
            unchecked.append(("Message-ID", make_msgid(domain=DNS_NAME)))
        unchecked += self.extra_headers.items()
        headers += (forbid_multi_line_headers(name, value, "utf-8") for name, value in unchecked)
        msg._headers += headers
        return msg

    def __deepcopy__(self, memo):
        clone = self.__class__.__new__(self.__class__)
        memo[id(self)] = clone
        for name, value in self.__dict__.items():
            # The backend is what carries the message, not part of it: shared.
            clone.__dict__[name] = value if name == "connection" else _copy(value, memo)
        return clone


def _flatten(msg: Message) -> bytes:
    """What BytesGenerator writes for a message `_build` made, with `_WIRE_POLICY`.

    Headers as the policy folds them, a blank line, then the body: a text
    part's payload with every line end made CRLF (8bit text is kept as the
    UTF-8 bytes it came from), or each part between its boundary lines.
    """
    head = b"".join(_WIRE_POLICY.fold_binary(name, value) for name, value in msg._headers)
    if not msg.is_multipart():
        return (
            head + b"\r\n" + _LINE_END.sub("\r\n", msg._payload).encode("ascii", "surrogateescape")
        )
    boundary = msg.get_boundary().encode("ascii")
    parts = b"\r\n--" + boundary + b"\r\n"
    body = parts.join(_flatten(part) for part in msg._payload)
    return head + b"\r\n--" + boundary + b"\r\n" + body + b"\r\n--" + boundary + b"--\r\n"


def _boundary() -> str:
    return f"=_outbox_{secrets.token_hex(16)}"


_ATOMS = frozenset({str, bytes, int, float, bool, type(None)})


def _unchangeable(value) -> bool:
    """Strings, numbers and tuples of them (namedtuples too): a copy may share them."""
    kind = type(value)
    if kind in _ATOMS:
        return True
    # A namedtuple has no __dict__; a tuple subclass with one may carry more.
    if issubclass(kind, tuple) and not hasattr(value, "__dict__"):
        return all(map(_unchangeable, value))
    return False


def _copy(value, memo):
    """A deep copy of `value` that shares what cannot change."""
    kind = type(value)
    if kind in _ATOMS:
        return value
    if kind is list and all(map(_unchangeable, value)):
        return list(value)
    if (
        kind is dict
        and all(map(_unchangeable, value.keys()))
        and all(map(_unchangeable, value.values()))
    ):
        return dict(value)
    if _unchangeable(value):
        return value
    return copy.deepcopy(value, memo)
