"""Email and personal links: the outbox, its sending and sweeping, templates, webhooks.

The layer under programs, invitations and pairing: it imports none of them.
"""
