"""The kinds of email, registered by the apps that send them.

mail sits below those apps, so it cannot list their emails. Each app declares
its kinds as a TextChoices, with their placeholders and default wording, and
registers them from its AppConfig.ready() (`register_kinds`). Rendering, the
template editor and the email log look kinds up here; writing or saving an
email of a kind nobody registered fails at once. Stored values never change.
"""

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured
from django.db.models import TextChoices
from django.utils import translation


@dataclass(frozen=True)
class Template:
    """An email's wording: placeholders in it are filled by pairing_admin.mail.rendering."""

    subject: str
    text: str
    html: str = ""


class UnknownEmailKind(KeyError):
    """A kind no app registered (a KeyError, like a missing key of the tables below)."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class _Kind:
    kind: TextChoices  # the member: a str with .value and .label
    label: str  # compared too: members of two classes equal as strings
    order: tuple[int, int]
    variables: Mapping[str, str]
    required: tuple[str, ...]
    default: Template
    editable: bool


_kinds: dict[str, _Kind] = {}
_ordered: list[_Kind] = []


def register_kinds(
    kinds: type[TextChoices],
    *,
    order: int,
    variables: Mapping[str, Mapping[str, str]],
    defaults: Mapping[str, Template],
    required: Mapping[str, Sequence[str]] | None = None,
    not_editable: Collection[str] = (),
) -> None:
    """Make these kinds sendable: their placeholders, required ones and default wording.

    Admins see kinds sorted by `order`, then in declaration order. Kinds in
    `not_editable` stay out of the template editor (our wording only).
    """
    required = required or {}
    for position, kind in enumerate(kinds):
        if kind not in variables or kind not in defaults:
            raise ImproperlyConfigured(f"email kind {kind.value!r} needs variables and a default")
        if not set(required.get(kind, ())) <= set(variables[kind]):
            raise ImproperlyConfigured(f"email kind {kind.value!r} requires an unknown placeholder")
        entry = _Kind(
            kind=kind,
            label=str(kind.label),
            order=(order, position),
            variables=dict(variables[kind]),
            required=tuple(required.get(kind, ())),
            default=defaults[kind],
            editable=kind not in not_editable,
        )
        # ready() may run more than once; two apps may not claim one kind differently.
        if _kinds.setdefault(kind.value, entry) != entry:
            raise ImproperlyConfigured(f"email kind {kind.value!r} is registered twice")
    _tables_rebuild()


def _get(kind: str) -> _Kind:
    try:
        return _kinds[kind]
    except KeyError:
        raise UnknownEmailKind(
            f"unknown email kind {kind!r}: declare it in its app's email kinds and register "
            "them with pairing_admin.mail.kinds.register_kinds()"
        ) from None


def get(kind: str) -> TextChoices:
    """The registered kind (with .value and .label); UnknownEmailKind otherwise."""
    return _get(kind).kind


def check_kind(kind: str) -> None:
    """UnknownEmailKind unless some app registered this kind."""
    _get(kind)


def label(kind: str) -> str:
    """A kind's label; a kind no app registers any more shows as itself."""
    entry = _kinds.get(kind)
    return entry.label if entry else kind


def choices() -> list[tuple[str, str]]:
    """(kind, label) for every registered kind, in the order admins see them."""
    return [(entry.kind.value, entry.label) for entry in _ordered]


# Plain tables kept in admin order by register_kinds, read as the old constants were.
# The kinds admins may word themselves.
EDITABLE_KINDS: list[TextChoices] = []
# The placeholders each kind may use, with what they hold.
VARIABLES: dict[str, Mapping[str, str]] = {}
# The placeholders without which the recipient cannot act on the email (only
# kinds that require some are listed): a template without one is refused at save.
REQUIRED: dict[str, tuple[str, ...]] = {}
# The emails every program starts with, in our own words (English). Admins may
# edit them; default_in() gives them in a participant language.
DEFAULTS: dict[str, Template] = {}


def _resolved(template: Template) -> Template:
    """A template with plain strings: the apps mark their defaults for translation
    (lazy strings), which resolve in the active language."""
    return Template(subject=str(template.subject), text=str(template.text), html=str(template.html))


def default_in(kind: str, language: str) -> Template:
    """A kind's default wording in `language` (English where the catalogue has none)."""
    with translation.override(language):
        return _resolved(_get(kind).default)


def _tables_rebuild() -> None:
    _ordered[:] = sorted(_kinds.values(), key=lambda entry: entry.order)
    EDITABLE_KINDS[:] = [entry.kind for entry in _ordered if entry.editable]
    for table, rows in (
        (VARIABLES, ((entry.kind, entry.variables) for entry in _ordered)),
        (REQUIRED, ((entry.kind, entry.required) for entry in _ordered if entry.required)),
    ):
        table.clear()
        table.update(rows)
    with translation.override("en"):
        DEFAULTS.clear()
        DEFAULTS.update((entry.kind, _resolved(entry.default)) for entry in _ordered)
