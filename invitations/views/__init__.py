"""Invitations pages: Invite all / to Pair / bulk, the prompt, a batch's progress and Stop sending."""
