"""Form fields rendered from a program's questions, shared by the registration form,
the admin's participant form and a person's own profile form.

Each question becomes a field named by its key; department and location are the
person's record, so their questions relabel those fields. A question asked only of
the other role is ignored when the form is sent (the registration form asks for the
role in the same form and shows each question with whom it is for).
"""

from django import forms
from django.utils.translation import gettext, gettext_lazy

from pairing_admin.lib.errors import DomainError
from programs.models import Question
from programs.questions import check_required, clean_answer, display

Kind = Question.Kind
# Up to this many options a single choice is radio buttons, beyond a drop-down.
RADIO_MAX = 6
_FOR = {
    Question.Audience.MENTEES: gettext_lazy("mentees"),
    Question.Audience.MENTORS: gettext_lazy("mentors"),
}


def _field(question: Question, *, show_audience: bool) -> forms.Field:
    options = [o.label for o in question.option_list]
    help_text = question.help_text
    if show_audience and question.audience in _FOR:
        only = gettext("For %(whom)s only.") % {"whom": _FOR[question.audience]}
        help_text = f"{help_text} {only}".strip()
    common = {
        "label": question.text,
        "required": False,
        "help_text": help_text,
        # The same words as clean_questions uses for a role's required question.
        "error_messages": {"required": gettext("Please answer “%(q)s”.") % {"q": question.label}},
    }
    if question.is_choice and question.open_options:
        hint = gettext("Separate with commas.")
        if options:
            hint += " " + gettext("For example: %(some)s.") % {"some": ", ".join(options[:6])}
        common["help_text"] = f"{help_text} {hint}".strip()
        return forms.CharField(max_length=2000, **common)
    if question.kind == Kind.SINGLE:
        widget = forms.RadioSelect if len(options) <= RADIO_MAX else forms.Select
        choices = [("", "—"), *((o, o) for o in options)]
        return forms.ChoiceField(choices=choices, widget=widget, **common)
    if question.kind == Kind.MULTIPLE:
        if question.max_choices:
            limit = gettext("Pick up to %(n)s.") % {"n": question.max_choices}
            common["help_text"] = f"{common['help_text']} {limit}".strip()
        return forms.MultipleChoiceField(
            choices=[(o, o) for o in options], widget=forms.CheckboxSelectMultiple, **common
        )
    if question.kind == Kind.NUMBER:
        attrs = {"inputmode": "numeric"}
        return forms.CharField(max_length=12, widget=forms.TextInput(attrs=attrs), **common)
    if question.kind == Kind.LONG_TEXT:
        return forms.CharField(
            max_length=2000, widget=forms.Textarea(attrs={"rows": 4}), strip=False, **common
        )
    return forms.CharField(max_length=200, **common)


def initial_value(question: Question, value):
    """What a field shows for an answer already given."""
    if value is None:
        return None
    if question.is_choice:
        labels = display(question, value)
        if question.open_options:
            return labels
        labels_list = [label.strip() for label in labels.split(", ")] if labels else []
        return labels_list[0] if question.kind == Kind.SINGLE and labels_list else labels_list
    return value


class QuestionFieldsMixin:
    """Adds a field per question; `answer_values` after is_valid(): {question id: value}.

    Call `add_question_fields(questions, answers=..., person=...)` from __init__,
    and `clean_questions(role)` from clean().
    """

    question_list: list[Question]

    def add_question_fields(self, questions, *, answers=None, show_audience=False) -> None:
        self.question_list = list(questions)
        self.answer_values: dict[int, object] = {}
        for q in self.question_list:
            if q.profile_field:
                if q.profile_field in self.fields:
                    field = self.fields[q.profile_field]
                    field.label = q.text
                    field.help_text = q.help_text
                continue
            field = _field(q, show_audience=show_audience)
            # Marked required where everyone seeing the form is asked it; a question for
            # one role in a form that asks the role is checked in clean_questions.
            field.required = q.required and (
                not show_audience or q.audience == Question.Audience.EVERYONE
            )
            if answers is not None:
                field.initial = initial_value(q, answers.get(q.pk))
            self.fields[q.key] = field

    def clean_questions(self, role: str | None) -> None:
        """Check every answer of the questions `role` is asked (all when None)."""
        data = self.cleaned_data
        values: dict[int, object] = {}
        for q in self.question_list:
            if role is not None and not q.asks(role):
                continue
            name = q.profile_field or q.key
            if name not in self.fields:
                continue
            if name in self.errors:
                values[q.pk] = True  # already said; not "required" again
                continue
            try:
                value = clean_answer(q, data.get(name))
            except DomainError as error:
                self.add_error(name, str(error))
                values[q.pk] = True
                continue
            values[q.pk] = value
            if q.profile_field:
                data[q.profile_field] = value or ""
            else:
                self.answer_values[q.pk] = value
        for q in self.question_list:
            if role is not None and not q.asks(role):
                continue
            try:
                check_required([q], values)
            except DomainError as error:
                self.add_error(q.profile_field or q.key, str(error))
