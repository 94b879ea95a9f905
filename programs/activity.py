"""The activity log's verbs and their labels.

`programs` sits below the apps that write to the log, so it cannot list their
verbs. Each app declares its own as a TextChoices and registers it from its
AppConfig.ready() (`register_verbs`); the log shows a verb by its registered
label, and recording a verb nobody registered fails at once, so a typo cannot
reach the table. Stored values never change: they are in existing rows.
"""

from django.core.exceptions import ImproperlyConfigured
from django.db.models import TextChoices

_labels: dict[str, str] = {}


def register_verbs(verbs: type[TextChoices]) -> None:
    """Make these verbs recordable, shown by their labels."""
    for value, label in verbs.choices:
        # ready() may run more than once; two apps may not claim one verb differently.
        if _labels.setdefault(value, str(label)) != str(label):
            raise ImproperlyConfigured(f"activity verb {value!r} is registered twice")


def verb_choices() -> list[tuple[str, str]]:
    """(verb, label) for every registered verb, in registration order."""
    return list(_labels.items())


def verb_label(verb: str) -> str:
    """A verb's label; a verb no app registers any more shows as itself."""
    return _labels.get(verb, verb)


def check_verb(verb: str) -> None:
    """ValueError unless some app registered this verb."""
    if verb not in _labels:
        raise ValueError(
            f"unknown activity verb {verb!r}: declare it in its app's verbs and register "
            "them with programs.activity.register_verbs()"
        )
