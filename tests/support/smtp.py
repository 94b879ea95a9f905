"""A real SMTP server for tests (aiosmtpd on 127.0.0.1).

Tests read what really went over the wire. `refuse` makes the server answer
a recipient with an SMTP error ("451 ..." for a while, "550 ..." for good);
`delay` makes it slow to accept each message. It offers PIPELINING, as
Postfix and providers' relays do (`pipelining = False`: a server that does not).
"""

import asyncio
import logging
import socket
import threading
from collections import Counter
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Receiver:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refuse: dict[str, str] = {}  # recipient -> "451 4.3.0 try later"
        self.refused_count: dict[str, int] = {}
        # Seconds the server takes to accept each message (a slow server, so
        # a test can kill a worker in the middle of a batch).
        self.delay = 0.0
        self.pipelining = True
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        if self.pipelining:
            responses.insert(-1, "250-PIPELINING")  # before the last line, "250 HELP"
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        answer = self.refuse.get(address.lower())
        if answer:
            with self._lock:
                self.refused_count[address.lower()] = self.refused_count.get(address.lower(), 0) + 1
            return answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self._arrived:
            self.messages.append(message)
            self._arrived.notify_all()
        return "250 Message accepted for delivery"

    def wait_for(self, count: int, timeout: float = 30.0) -> list[EmailMessage]:
        """Block until `count` messages arrived (or fail with what did arrive)."""
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.messages) >= count, timeout=timeout)
            assert len(self.messages) >= count, (
                f"expected {count} emails, {len(self.messages)} arrived"
            )
            return list(self.messages)

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address.lower() in str(m["To"]).lower()]

    def per_recipient(self) -> Counter:
        """{To header: messages received}: a count above 1 is a duplicate."""
        return Counter(str(m["To"]) for m in self.messages)


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    return part.get_content() if part else ""


def start() -> tuple[Controller, Receiver, int]:
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    receiver = Receiver()
    port = free_port()
    controller = Controller(receiver, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, receiver, port
