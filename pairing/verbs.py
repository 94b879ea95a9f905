"""Pairing's verbs in the programs activity log (registered in PairingConfig.ready())."""

from django.db import models


class Verb(models.TextChoices):
    REQUEST_CANCELLED = "request_cancelled", "Cancelled a mentor request"
    PAIRED_BY_ADMIN = "paired_by_admin", "Paired a mentee with a mentor"
    PAIRING_ENDED = "pairing_ended", "Ended a pairing"
    PAIRINGS_ENDED = "pairings_ended", "Ended pairings in bulk"
    SESSION_LOGGED = "session_logged", "Logged a mentoring session"
    SESSION_CANCELLED = "session_cancelled", "Cancelled a mentoring session"
    HEALTH_RULES_CHANGED = "health_rules_changed", "Changed the health rules"
    AUTOPAIR_RUN = "autopair_run", "Ran auto-pair"
    AUTOPAIR_CONFIRMED = "autopair_confirmed", "Confirmed auto-pair proposals"
    AUTOPAIR_DISCARDED = "autopair_discarded", "Discarded an auto-pair run"
    WAITLIST_ADDED = "waitlist_added", "Added a mentee to the waitlist"
    WAITLIST_REMOVED = "waitlist_removed", "Removed a mentee from the waitlist"
