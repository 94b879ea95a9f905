"""Pairing's services, one module per seam; the names below are what views, tasks and tests call.

requests (the mentee's choices), decisions (the mentor's answer), forwarding (after a request
ends), sweeps (expiry, reminders, closing requests to full mentors), admin (cancel, pair by
hand), ending (end pairings), sessions, health_rules. Locks: docs/concurrency.md.
"""

from pairing.services._common import NeedsConfirmation, RequestSettled
from pairing.services.admin import pairing_create_by_admin, request_cancel
from pairing.services.decisions import request_approve, request_decline
from pairing.services.ending import NextStep, pairing_end, pairing_end_bulk
from pairing.services.health_rules import health_rules_update
from pairing.services.requests import Submitted, preferences_submit, request_withdraw
from pairing.services.sessions import (
    session_cancel,
    session_log,
    sessions_hold_due,
    sessions_hold_due_everywhere,
)
from pairing.services.sweeps import (
    requests_close_full,
    requests_expire_due,
    requests_remind_due,
    seats_changed,
)

# The public service names, re-exported (one list, so `grep services.X` finds its home above).
__all__ = [
    "NeedsConfirmation",
    "NextStep",
    "RequestSettled",
    "Submitted",
    "health_rules_update",
    "pairing_create_by_admin",
    "pairing_end",
    "pairing_end_bulk",
    "preferences_submit",
    "request_approve",
    "request_cancel",
    "request_decline",
    "request_withdraw",
    "requests_close_full",
    "requests_expire_due",
    "requests_remind_due",
    "seats_changed",
    "session_cancel",
    "session_log",
    "sessions_hold_due",
    "sessions_hold_due_everywhere",
]
