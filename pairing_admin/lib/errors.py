"""The error every layer raises when a rule is broken."""


class DomainError(Exception):
    """A rule was broken; the message is meant for the person who acted."""
