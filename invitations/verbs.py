"""Invitations' verbs in the programs activity log (registered in InvitationsConfig.ready())."""

from django.db import models


class Verb(models.TextChoices):
    INVITATIONS_SENT = "invitations_sent", "Sent invitations to pair"
    INVITATIONS_RESENT = "invitations_resent", "Resent invitations to pair"
    INVITATIONS_STOPPED = "invitations_stopped", "Stopped sending invitations"
