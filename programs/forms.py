from django import forms
from django.utils.html import format_html
from django.utils.translation import gettext_lazy

from pairing_admin.lib.errors import DomainError
from pairing_admin.lib.text import multi_line, one_line, without_bidi
from programs.branding import LOGO_MAX_BYTES, check_logo, clean_accent
from programs.match_weights import (
    DISTANCE_MAX,
    IGNORED,
    MEASURE_WORDS,
    MUST_MATCH,
    clean_weights,
    rule_title,
)
from programs.models import (
    PROFILE_FIELDS,
    Integration,
    MatchRule,
    Organization,
    Participant,
    Program,
    Question,
)
from programs.question_forms import QuestionFieldsMixin
from programs.questions import Picks
from programs.registration import SINGLE_LINE_FIELDS
from programs.services import SUPPORT_MESSAGE_MAX, SUPPORT_SUBJECT_MAX


def shown_name(name: str) -> str:
    """The name of the hidden input that says the checkbox `name` was on the page."""
    return f"{name}-shown"


class _ShownCheckbox(forms.CheckboxInput):
    """A checkbox that posts a sign it was shown.

    An unticked box posts nothing, exactly like a form that never showed it;
    with the sign the form tells the two apart (see ProgramForm._kept_if_hidden).
    """

    def render(self, name, value, attrs=None, renderer=None):
        shown = format_html('<input type="hidden" name="{}" value="1">', shown_name(name))
        return super().render(name, value, attrs, renderer) + shown


EVERGREEN_KEEPS_WAITLIST = (
    "An Evergreen program always keeps its waitlist: mentees keep arriving, and those who "
    "find no mentor with room wait there for a seat. Tick the waitlist, or choose Cohort."
)

EVERGREEN_KEEPS_REGISTRATION = (
    "An Evergreen program always takes new registrations: people join it at any time. "
    "Tick Registration open, or choose Cohort."
)


class ProgramForm(forms.ModelForm):
    organization = forms.ModelChoiceField(queryset=Organization.objects.none())

    class Meta:
        model = Program
        fields = [
            "organization",
            "name",
            "program_type",
            "pairing_process",
            "default_mentor_capacity",
            "request_expiry_business_days",
            "max_preferences",
            "after_decline",
            "request_reminders",
            "waitlist_enabled",
            "registration_open",
            "language",
        ]
        labels = {
            "program_type": "Program type",
            "default_mentor_capacity": "Default mentor capacity",
            "request_expiry_business_days": "Requests expire after (business days)",
            "max_preferences": "Mentors a mentee may rank",
            "after_decline": "When a mentor declines or a request expires",
            "request_reminders": "Send mentors a reminder one business day before a request expires",
            "waitlist_enabled": "Waitlist",
            "registration_open": "Registration open",
            "language": "Participants' language",
        }
        help_texts = {
            "program_type": (
                "Cohort: everyone joins, then you invite the mentees. Evergreen: registration "
                "stays open and, while pairing is on, each mentee who registers or is imported "
                "is invited at once; the waitlist is always on."
            ),
            "default_mentor_capacity": "How many mentees a mentor takes unless set per mentor (1-50).",
            "request_expiry_business_days": "Unanswered requests expire at the end of this business day (1-30).",
            "max_preferences": "1-10.",
            "waitlist_enabled": (
                "Mentees who find no mentor with room can join a waitlist; seats that free up "
                "are offered to them in order. An Evergreen program always keeps its waitlist."
            ),
            "registration_open": (
                "Anyone who has the program's registration link can sign up. Untick it to close "
                "registration: the link then says it is closed, and people who filled in the form "
                "but have not confirmed their email yet are not added. An Evergreen program "
                "always stays open."
            ),
            "language": (
                "The language of the pages mentees and mentors open from their emails, and of "
                "the emails you have not reworded yourself. Emails you edited are sent as you "
                "wrote them. Your own pages stay in English."
            ),
        }
        widgets = {
            "program_type": forms.RadioSelect,
            "pairing_process": forms.RadioSelect,
            "after_decline": forms.RadioSelect,
            "waitlist_enabled": _ShownCheckbox,
            "registration_open": _ShownCheckbox,
        }

    def __init__(self, *args, organizations, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = organizations
        self.fields["after_decline"].required = False
        self.fields["program_type"].required = False
        self.fields["language"].required = False
        if self.instance.pk:
            # A program never moves between tenants.
            del self.fields["organization"]
        elif organizations.count() == 1:
            self.fields["organization"].initial = organizations.first()
            self.fields["organization"].widget = forms.HiddenInput()

    def clean_language(self):
        # A post from an older form keeps the program's language.
        return self.cleaned_data.get("language") or self.instance.language

    def clean_program_type(self):
        # Older clients post no choice: the program keeps its type.
        return self.cleaned_data.get("program_type") or self.instance.program_type

    def _kept_if_hidden(self, name: str) -> bool:
        # A post from a form that never showed the box keeps the saved value
        # rather than turning the setting off.
        if shown_name(self.add_prefix(name)) not in self.data:
            return getattr(self.instance, name)
        return self.cleaned_data[name]

    def clean_waitlist_enabled(self):
        return self._kept_if_hidden("waitlist_enabled")

    def clean_registration_open(self):
        return self._kept_if_hidden("registration_open")

    def clean(self):
        cleaned = super().clean()
        # The database refuses these too; here the admin gets the reason
        # next to the box instead of an error page.
        if cleaned.get("program_type") == Program.Type.EVERGREEN:
            if not cleaned.get("waitlist_enabled", True):
                self.add_error("waitlist_enabled", EVERGREEN_KEEPS_WAITLIST)
            if not cleaned.get("registration_open", True):
                self.add_error("registration_open", EVERGREEN_KEEPS_REGISTRATION)
        return cleaned

    def clean_after_decline(self):
        # Older clients post no choice: keep the default behaviour.
        return self.cleaned_data.get("after_decline") or Program.AfterDecline.CHOOSE_AGAIN

    def clean_name(self):
        name = one_line(self.cleaned_data["name"])
        if not name:
            raise forms.ValidationError("Give the program a name.")
        return name

    def _clean_range(self, field, low, high):
        value = self.cleaned_data[field]
        if value is None or not low <= value <= high:
            raise forms.ValidationError(f"Choose a number from {low} to {high}.")
        return value

    def clean_default_mentor_capacity(self):
        return self._clean_range("default_mentor_capacity", 1, 50)

    def clean_request_expiry_business_days(self):
        return self._clean_range("request_expiry_business_days", 1, 30)

    def clean_max_preferences(self):
        return self._clean_range("max_preferences", 1, 10)


def _single_lines(cleaned_data: dict) -> dict:
    """Names, title, department and location on one line (a pasted newline
    would otherwise reach email headers); bio keeps its lines. None keeps a
    bidirectional control (a right-to-left override in a name would reorder
    the emails that show it). The same cleaning as the import and the
    registration service (pairing_admin.lib.text)."""
    for name in SINGLE_LINE_FIELDS:
        if isinstance(cleaned_data.get(name), str):
            cleaned_data[name] = one_line(cleaned_data[name])
    if isinstance(cleaned_data.get("bio"), str):
        cleaned_data["bio"] = multi_line(cleaned_data["bio"])
    return cleaned_data


class CleanEmailField(forms.EmailField):
    """An email address without the bidirectional controls pasted text can carry:
    they are dropped before the address is checked (Django's validator lets
    them through in the domain, and refuses them elsewhere as a bad address)."""

    def to_python(self, value):
        return one_line(super().to_python(value))


class ParticipantForm(QuestionFieldsMixin, forms.ModelForm):
    """The admin's form of one person: the record, then the program's questions."""

    class Meta:
        model = Participant
        fields = [
            "role",
            "first_name",
            "last_name",
            "email",
            *PROFILE_FIELDS,
            "manager_email",
            "capacity",
            "accepting_requests",
        ]
        field_classes = {"email": CleanEmailField, "manager_email": CleanEmailField}
        labels = {"capacity": "Mentor capacity", "accepting_requests": "Accepting new requests"}
        help_texts = {
            "accepting_requests": (
                "Mentors only. Turned off when a mentor answers “I'm unavailable for now”; "
                "their current pairings go on. Turn it back on when they can take requests again."
            )
        }
        widgets = {"bio": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args, questions, **kwargs):
        super().__init__(*args, **kwargs)
        # Each field carries the value the admin saw, so `changed_data` is what
        # the admin changed, not what differs from the row now: a mentor's
        # "unavailable for now" that lands while the page is open survives an
        # unrelated edit.
        for field in self.fields.values():
            field.show_hidden_initial = True
        self.add_question_fields(questions, answers=self.instance.answer_values, show_audience=True)
        self.record_fields = [n for n in self.Meta.fields if n in self.fields]

    @property
    def changed_record(self) -> dict:
        """The record's fields the admin changed."""
        return {n: self.cleaned_data[n] for n in self.changed_data if n in self.record_fields}

    def clean_email(self):
        email = self.cleaned_data["email"].lower()
        clash = Participant.objects.filter(program=self.instance.program, email=email).exclude(
            pk=self.instance.pk
        )
        if clash.exists():
            raise forms.ValidationError("Another participant of this program has this email.")
        return email

    def clean_capacity(self):
        capacity = self.cleaned_data["capacity"]
        if capacity is None or not 0 <= capacity <= 50:
            raise forms.ValidationError("Choose a number from 0 to 50.")
        return capacity

    def clean(self):
        data = _single_lines(super().clean())
        self.clean_questions(data.get("role"))
        return data


class ImportUploadForm(forms.Form):
    # Empty files reach the import service, which explains what a file needs.
    file = forms.FileField(
        label="CSV file",
        allow_empty_file=True,
        help_text="UTF-8 CSV with a header row; commas or semicolons between columns.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )


class RegistrationForm(QuestionFieldsMixin, forms.Form):
    """The public form behind a program's registration link, in the program's language."""

    ROLES = [
        (Participant.Role.MENTEE.value, gettext_lazy("Mentee")),
        (Participant.Role.MENTOR.value, gettext_lazy("Mentor")),
    ]
    role = forms.ChoiceField(
        label=gettext_lazy("I want to join as a"), choices=ROLES, widget=forms.RadioSelect
    )
    first_name = forms.CharField(max_length=100, label=gettext_lazy("First name"))
    last_name = forms.CharField(max_length=100, required=False, label=gettext_lazy("Last name"))
    email = CleanEmailField(label=gettext_lazy("Work email"))
    title = forms.CharField(max_length=120, required=False, label=gettext_lazy("Job title"))
    department = forms.CharField(max_length=120, required=False, label=gettext_lazy("Department"))
    location = forms.CharField(max_length=120, required=False, label=gettext_lazy("Location"))
    bio = forms.CharField(
        max_length=2000,
        required=False,
        label=gettext_lazy("About you"),
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    capacity = forms.IntegerField(
        min_value=1,
        max_value=50,
        required=False,
        label=gettext_lazy("Mentees you can take at once"),
        help_text=gettext_lazy("Mentors only. Leave blank for the program's default."),
    )

    def __init__(self, *args, default_capacity: int, questions, **kwargs):
        super().__init__(*args, **kwargs)
        questions = list(questions)
        # Department and location are asked only while their questions are.
        for name in ("department", "location"):
            if not any(q.profile_field == name for q in questions):
                del self.fields[name]
        self.add_question_fields(questions, show_audience=True)
        # The questions come after the record's fields, "About you" and capacity last.
        for name in ("bio", "capacity"):
            self.fields[name] = self.fields.pop(name)
        self.fields["capacity"].widget.attrs["placeholder"] = str(default_capacity)
        self.fields["first_name"].widget.attrs["autocomplete"] = "given-name"
        self.fields["last_name"].widget.attrs["autocomplete"] = "family-name"
        self.fields["email"].widget.attrs["autocomplete"] = "email"

    def clean_email(self):
        return self.cleaned_data["email"].lower()

    def clean(self):
        data = _single_lines(super().clean())
        self.clean_questions(data.get("role"))
        return data

    def registration_values(self) -> dict:
        """What registration_request takes: the record's fields, and the answers as
        cleaned (labels, numbers, texts: checked again when the registration is
        confirmed, since options may change meanwhile)."""
        role = self.cleaned_data["role"]
        keys = {q.key for q in self.question_list if not q.profile_field}
        record = {n: v for n, v in self.cleaned_data.items() if n not in keys}
        sent = {}
        for q in self.question_list:
            value = self.answer_values.get(q.pk)
            if q.profile_field or not q.asks(role) or not value:
                continue
            if isinstance(value, Picks):
                labels = {o.pk: o.label for o in q.option_list}
                value = [labels[o] for o in value.option_ids] + list(value.new_labels)
            sent[q.key] = value
        return {**record, "answers": sent}


class MatchWeightsForm(forms.Form):
    """One whole number from 0 to 10 per match rule (fields named rule_<id>)."""

    def __init__(self, *args, rules, **kwargs):
        super().__init__(*args, **kwargs)
        self.rules = list(rules)
        message = "Choose a whole number from 0 (ignored) to 10 (must match)."
        for rule in self.rules:
            title = rule_title(rule)
            self.fields[f"rule_{rule.pk}"] = forms.IntegerField(
                label=title,
                help_text=MEASURE_WORDS[rule.measure],
                min_value=IGNORED,
                max_value=MUST_MATCH,
                initial=rule.weight,
                error_messages={
                    "required": f"Give “{title}” a weight: 0 ignores it.",
                    "invalid": message,
                    "min_value": message,
                    "max_value": message,
                },
                widget=forms.NumberInput(attrs={"inputmode": "numeric", "class": "weight"}),
            )

    def clean(self):
        data = super().clean()
        if not self.errors:
            try:
                clean_weights(self.rules, self.weights)
            except DomainError as error:
                raise forms.ValidationError(str(error)) from None
        return data

    @property
    def weights(self) -> dict[int, int]:
        return {rule.pk: self.cleaned_data[f"rule_{rule.pk}"] for rule in self.rules}

    def rows(self) -> list[tuple[MatchRule, forms.BoundField]]:
        """Each rule with its weight field, in the rules' order."""
        return [(rule, self[f"rule_{rule.pk}"]) for rule in self.rules]


def _question_choice(label: str, questions: list[Question], side: str) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=label,
        coerce=int,
        choices=[("", "Choose a question"), *((q.pk, q.label) for q in questions)],
        error_messages={
            "required": f"Choose the {side}'s question.",
            "invalid_choice": f"Choose one of the questions {side}s are asked.",
        },
    )


class MatchRuleForm(forms.Form):
    """A new match rule: the mentee's question against the mentor's, how, and how much.

    Only the questions each side is asked are offered (long texts are never
    matched); programs.match_weights.clean_rule checks the rest against the
    program's rules.
    """

    measure = forms.ChoiceField(
        label="Compared by",
        choices=[("", "Choose how"), *MatchRule.Measure.choices],
        error_messages={"required": "Choose how the two answers are compared."},
    )
    distance = forms.IntegerField(
        label="Distance",
        required=False,
        min_value=0,
        max_value=DISTANCE_MAX,
        help_text="For “Numbers within a distance” only: how far apart the two numbers "
        "may be (0: the same number).",
        error_messages={
            "invalid": "The distance must be a whole number.",
            "min_value": "The distance must be 0 or more.",
            "max_value": f"The distance must be at most {DISTANCE_MAX:,}.",
        },
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    weight = forms.IntegerField(
        label="Weight",
        min_value=IGNORED,
        max_value=MUST_MATCH,
        initial=5,
        help_text="0 ignores the rule, 1 to 9 count that much, 10 must match.",
        error_messages={
            "required": "Give the rule a weight: 0 ignores it.",
            "invalid": "Choose a whole number from 0 (ignored) to 10 (must match).",
            "min_value": "Choose a whole number from 0 (ignored) to 10 (must match).",
            "max_value": "Choose a whole number from 0 (ignored) to 10 (must match).",
        },
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "class": "weight"}),
    )
    field_order = ["mentee_question", "mentor_question", "measure", "distance", "weight"]

    def __init__(self, *args, questions, **kwargs):
        super().__init__(*args, **kwargs)
        matched = [q for q in questions if q.kind != Question.Kind.LONG_TEXT]
        self.fields["mentee_question"] = _question_choice(
            "Mentee's question", [q for q in matched if q.asks(Question.Audience.MENTEES)], "mentee"
        )
        self.fields["mentor_question"] = _question_choice(
            "Mentor's question", [q for q in matched if q.asks(Question.Audience.MENTORS)], "mentor"
        )
        self.order_fields(self.field_order)

    @property
    def rule(self) -> dict:
        """The keyword arguments of clean_rule and match_rule_add."""
        data = self.cleaned_data
        return {
            "mentee_question_id": data["mentee_question"],
            "mentor_question_id": data["mentor_question"],
            "measure": data["measure"],
            "distance": data["distance"],
            "weight": data["weight"],
        }


class IntegrationForm(forms.Form):
    status = forms.ChoiceField(choices=Integration.Status.choices)
    notes = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Who is on it, what is left, links to tickets.",
    )


class SupportRequestForm(forms.Form):
    subject = forms.CharField(max_length=SUPPORT_SUBJECT_MAX)
    message = forms.CharField(
        max_length=SUPPORT_MESSAGE_MAX,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text="Tell your advisor what you need; they reply to your email address.",
    )

    def clean_subject(self) -> str:
        subject = self.cleaned_data["subject"]
        if "\n" in subject or "\r" in subject:
            raise forms.ValidationError("The subject must be a single line.")
        return without_bidi(subject)

    def clean_message(self) -> str:
        return multi_line(self.cleaned_data["message"])


class BrandingForm(forms.Form):
    """An organization's or a program's branding (programs.branding checks the values)."""

    brand_name = forms.CharField(
        label="Display name",
        max_length=120,
        required=False,
        help_text="The name mentees and mentors see at the top of every page and email.",
    )
    brand_accent = forms.CharField(
        label="Accent colour",
        max_length=20,
        required=False,
        help_text=(
            "# and six hexadecimal digits, e.g. #1a4d8f: buttons, links and the header rule. "
            "It must be dark enough for white text on it (contrast at least 4.5:1)."
        ),
    )
    brand_contact_email = CleanEmailField(
        label="Program team's contact address",
        required=False,
        help_text="Shown as “Questions? Contact …” on every page, and replies to emails go there.",
    )
    logo = forms.FileField(
        label="Logo",
        required=False,
        help_text="PNG, JPEG or WebP, at most 512 KB and 2000 x 2000 pixels. Replaces the current one.",
        widget=forms.FileInput(attrs={"accept": "image/png,image/jpeg,image/webp"}),
    )
    remove_logo = forms.BooleanField(label="Remove the current logo", required=False)

    def __init__(self, *args, inherited: bool, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if inherited:  # a program: blank fields show the organization's
            for name in ("brand_name", "brand_accent", "brand_contact_email", "logo"):
                self.fields[name].help_text += " Leave blank to use the organization's."

    def clean_brand_name(self) -> str:
        return one_line(self.cleaned_data["brand_name"])

    def clean_brand_accent(self) -> str:
        try:
            return clean_accent(self.cleaned_data["brand_accent"])
        except DomainError as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean_logo(self) -> bytes | None:
        upload = self.cleaned_data.get("logo")
        if not upload:
            return None
        if upload.size > LOGO_MAX_BYTES:  # refused before it is read into memory
            raise forms.ValidationError(
                f"The logo is {-(-upload.size // 1024):,} KB; at most "
                f"{LOGO_MAX_BYTES // 1024} KB, please."
            )
        data = upload.read()
        try:
            check_logo(data)
        except DomainError as exc:
            raise forms.ValidationError(str(exc)) from None
        return data
