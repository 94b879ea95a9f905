"""What the email layer tells the layers above (they connect in their AppConfig.ready)."""

from django.dispatch import Signal

# An admin re-queued a failed email: sent inside that transaction with
# program, user and email (the OutboundEmail row), so a receiver's writes
# commit or roll back with it.
email_resent = Signal()
