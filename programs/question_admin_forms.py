"""The questions editor's forms: a question, an option's label, and where a removed
option's answers go. The rules they check are programs.question_admin's; the service
checks them again inside its lock."""

from django import forms

from pairing_admin.lib.errors import DomainError
from programs.models import Program, Question, QuestionOption
from programs.question_admin import (
    HELP_MAX,
    LABEL_MAX,
    MAX_CHOICES_MAX,
    PROFILE_EDITABLE,
    TEXT_MAX,
    QuestionFields,
    clean_option_label,
    key_problem,
)
from programs.questions import OPTION_MAX

Kind = Question.Kind


class QuestionForm(forms.Form):
    label = forms.CharField(
        max_length=LABEL_MAX,
        help_text="Short: match reasons, exports and filters name the question by it.",
    )
    text = forms.CharField(max_length=TEXT_MAX, label="Question", help_text="As people read it.")
    help_text = forms.CharField(
        max_length=HELP_MAX, required=False, label="Help", help_text="Shown under the question."
    )
    key = forms.CharField(
        max_length=40,
        help_text="The CSV column and the form field: lower-case letters, digits and "
        "underscores, starting with a letter.",
    )
    audience = forms.ChoiceField(choices=Question.Audience.choices, label="Asked of")
    kind = forms.ChoiceField(choices=Question.Kind.choices)
    required = forms.BooleanField(
        required=False,
        help_text="People who registered before are asked it the next time they edit "
        "their answers.",
    )
    max_choices = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_CHOICES_MAX,
        label="At most this many picks",
        help_text="Multiple choice only; empty for no limit.",
    )
    open_options = forms.BooleanField(
        required=False,
        label="People may add options",
        help_text="Choice questions only: an answer the list lacks becomes a new option.",
    )
    min_value = forms.IntegerField(required=False, label="Lowest", help_text="Numbers only.")
    max_value = forms.IntegerField(required=False, label="Highest", help_text="Numbers only.")

    def __init__(self, *args, program: Program, question: Question | None = None, **kwargs):
        self.program, self.question = program, question
        if question is not None:
            kwargs.setdefault("initial", vars(QuestionFields.of(question)))
        super().__init__(*args, **kwargs)
        if question is not None and question.profile_field:
            # Department and Location: their key and kind are the record's.
            for name in list(self.fields):
                if name not in PROFILE_EDITABLE:
                    del self.fields[name]

    def clean_key(self) -> str:
        key = self.cleaned_data["key"].strip()
        problem = key_problem(self.program, key, question=self.question)
        if problem:
            raise forms.ValidationError(problem)
        return key

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        if kind is None:
            return data
        if data.get("max_choices") is not None and kind != Kind.MULTIPLE:
            self.add_error("max_choices", "Only a multiple choice takes a maximum; leave it empty.")
        if data.get("open_options") and kind not in (Kind.SINGLE, Kind.MULTIPLE):
            self.add_error("open_options", "Only a choice question lets people add options.")
        if kind != Kind.NUMBER:
            for name in ("min_value", "max_value"):
                if data.get(name) is not None:
                    self.add_error(name, "Only a number takes a range; leave it empty.")
        low, high = data.get("min_value"), data.get("max_value")
        if low is not None and high is not None and low > high:
            self.add_error("max_value", "The highest value must not be below the lowest.")
        return data

    @property
    def question_fields(self) -> QuestionFields:
        """What the form says, with what it does not show kept from the question."""
        shown = {name: self.cleaned_data[name] for name in self.fields}
        if self.question is not None:
            return QuestionFields.of(self.question).with_editable(**shown)
        return QuestionFields(**shown)


class OptionForm(forms.Form):
    label = forms.CharField(max_length=OPTION_MAX, label="Option")

    def clean_label(self) -> str:
        try:
            return clean_option_label(self.cleaned_data["label"])
        except DomainError as error:
            raise forms.ValidationError(str(error)) from None


MOVE, DELETE = "move", "delete"


class OptionRemoveForm(forms.Form):
    """Where the answers of people who picked the option go."""

    answers = forms.ChoiceField(
        choices=[(MOVE, "Move them to another option"), (DELETE, "Delete them")],
        widget=forms.RadioSelect,
        label="What happens to their answers",
    )
    move_to = forms.ModelChoiceField(
        queryset=QuestionOption.objects.none(),
        required=False,
        label="Move them to",
        help_text="Someone who picked both keeps one answer.",
    )

    def __init__(self, *args, option: QuestionOption, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["move_to"].queryset = QuestionOption.objects.filter(
            question_id=option.question_id
        ).exclude(pk=option.pk)

    def clean(self):
        data = super().clean()
        if data.get("answers") == MOVE and data.get("move_to") is None:
            self.add_error("move_to", "Choose the option their answers move to.")
        if data.get("answers") == DELETE:
            data["move_to"] = None
        return data
