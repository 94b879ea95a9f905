from urllib.parse import urlencode

from django import forms
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from pairing import health as monitor_health
from pairing.autopair import MAX_PREFERENCE_BONUS, Options
from pairing.models import AutoPairRun
from pairing.services import ending, sessions
from pairing.services.decisions import MESSAGE_MAX
from pairing.services.requests import NOTE_MAX
from pairing_admin.lib.errors import DomainError
from pairing_admin.lib.params import search_text
from pairing_admin.lib.text import multi_line, one_line
from programs.models import Participant, Program
from programs.question_forms import QuestionFieldsMixin


def ordinal(n: int) -> str:
    """A mentee's place for a mentor, "1st choice", in the active language."""
    if n == 1:
        return _("1st choice")
    if n == 2:
        return _("2nd choice")
    if n == 3:
        return _("3rd choice")
    return _("%(n)sth choice") % {"n": n}


class PreferenceForm(forms.Form):
    """The mentee's ranked choices: one `rank_<mentor id>` select per mentor shown, and a note.

    Choices arrive as plain `rank_<id>` fields rather than one form field per
    mentor, so a program with thousands of mentors does not build thousands
    of fields; only ids among `offered` are accepted.
    """

    note = forms.CharField(
        required=False,
        max_length=NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": NOTE_MAX}),
        label=gettext_lazy("A note to your mentor"),
        help_text=gettext_lazy(
            "Why you'd like to work with them, what you hope to learn. Up to 1,000 characters."
        ),
    )

    def clean_note(self) -> str:
        # Shown to the mentor in an email: nothing that reorders its text.
        return multi_line(self.cleaned_data["note"])

    def __init__(self, *args, offered: set[int], max_preferences: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.offered = offered
        self.max_preferences = max_preferences
        self.ranked: list[int] = []

    @staticmethod
    def ranks_in(data) -> dict[int, int]:
        """{mentor id: rank} from submitted data; junk is dropped."""
        ranks = {}
        for key, value in data.items():
            if not key.startswith("rank_") or not value:
                continue
            try:
                mentor_id, rank = int(key[5:]), int(value)
            except ValueError:
                continue
            ranks[mentor_id] = rank
        return ranks

    def clean(self):
        cleaned = super().clean()
        ranks = self.ranks_in(self.data)
        if not ranks:
            raise forms.ValidationError(_("Choose at least one mentor."))
        if any(mentor_id not in self.offered for mentor_id in ranks):
            raise forms.ValidationError(
                _("One of the mentors you chose is no longer available. Please check your choices.")
            )
        if any(not 1 <= rank <= self.max_preferences for rank in ranks.values()):
            raise forms.ValidationError(
                ngettext(
                    "You can choose only one mentor.",
                    "You can choose up to %(count)d mentors.",
                    self.max_preferences,
                )
                % {"count": self.max_preferences}
            )
        if len(set(ranks.values())) != len(ranks):
            raise forms.ValidationError(
                _("Give each mentor a different place: one 1st choice, one 2nd choice, and so on.")
            )
        self.ranked = [mentor_id for mentor_id, _ in sorted(ranks.items(), key=lambda kv: kv[1])]
        return cleaned


class DeclineForm(forms.Form):
    message = forms.CharField(
        required=False,
        max_length=MESSAGE_MAX,
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": MESSAGE_MAX}),
        label=gettext_lazy("A message to the mentee"),
        help_text=gettext_lazy(
            "We send it with the news, so they know why. Up to 1,000 characters."
        ),
    )
    unavailable = forms.BooleanField(
        required=False,
        label=gettext_lazy("I'm unavailable for now"),
        help_text=gettext_lazy(
            "No new requests will come to you until you choose “I'm available again” on "
            "My mentoring. Your current mentees stay with you."
        ),
    )

    def clean_message(self) -> str:
        # Sent to the mentee in an email: nothing that reorders its text.
        return multi_line(self.cleaned_data["message"])


class AdminPairForm(forms.Form):
    mentee = forms.ModelChoiceField(queryset=None, label="Mentee")
    mentor = forms.ModelChoiceField(queryset=None, label="Mentor")
    anyway = forms.BooleanField(
        label="Pair them anyway",
        required=False,
        help_text="Only needed when this mentor declined the mentee before, or their pairing "
        "ended; the page says so if it applies.",
    )

    def __init__(self, *args, mentees, mentors, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["mentee"].queryset = mentees
        self.fields["mentor"].queryset = mentors
        self.fields["mentee"].label_from_instance = lambda p: f"{p.full_name} ({p.email})"
        self.fields["mentor"].label_from_instance = lambda p: f"{p.full_name} ({p.email})"


# --- Monitoring: End Pairing, a session, health rules; the Active Pairings filters ---


class EndForm(forms.Form):
    reason = forms.CharField(
        label="Reason (seen by admins only)",
        max_length=ending.REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Say why the pairing ends."},
    )
    notify = forms.BooleanField(
        label="Notify mentee and mentor", required=False, initial=True,
        help_text="Each gets the “Pairing ended” email; the reason is not included.",
    )  # fmt: skip
    do_not_pair_again = forms.BooleanField(
        label="Do not pair again", required=False,
        help_text="This mentee and mentor are never recommended or auto-paired together again "
        "in this program.",
    )  # fmt: skip
    next_step = forms.ChoiceField(
        label="What happens next for the mentee",
        choices=ending.NextStep.choices,
        widget=forms.RadioSelect,
        required=False,
        help_text="The “Pairing ended” email tells the mentee, with their link where one applies.",
    )

    def clean_next_step(self) -> str:
        # A form posted without the choice (an older page, a script) changes nothing more.
        return self.cleaned_data.get("next_step") or ending.NextStep.NOTHING

    def __init__(self, *args, program: Program, **kwargs):
        super().__init__(*args, **kwargs)
        steps = ending.NextStep
        offered = [
            (value, label)
            for value, label in steps.choices
            if (value != steps.WAITLIST or program.waitlist_on)
            and (value != steps.INVITE or program.is_user_led)
        ]
        self.fields["next_step"].choices = offered
        self.fields["next_step"].initial = steps.NOTHING


class SessionForm(forms.Form):
    # <input type="date"> takes only ISO dates (YYYY-MM-DD) and shows nothing
    # for any other value, such as the locale's 07/12/2026.
    date = forms.DateField(
        label=gettext_lazy("Date"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    minutes = forms.IntegerField(
        label=gettext_lazy("Length (minutes)"),
        min_value=sessions.MINUTES_MIN,
        max_value=sessions.MINUTES_MAX,
    )
    note = forms.CharField(
        label=gettext_lazy("Note"), required=False, max_length=sessions.NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
    )  # fmt: skip

    def log(self, pairing, **by) -> bool:
        """Log the session this form holds on the pairing (by: participant= or user=).
        False, with the form's errors or the service's refusal as one, if it was not."""
        if not self.is_valid():
            return False
        try:
            sessions.session_log(
                pairing=pairing,
                on=self.cleaned_data["date"],
                minutes=self.cleaned_data["minutes"],
                note=self.cleaned_data["note"],
                **by,
            )
        except DomainError as exc:
            self.add_error(None, str(exc))
            return False
        return True


class RulesForm(forms.Form):
    first_session_days = forms.IntegerField(label="First session expected within (days)", min_value=1, max_value=365)  # fmt: skip
    recent_days = forms.IntegerField(label="A session expected at least every (days)", min_value=1, max_value=365)  # fmt: skip


def monitor_filters(request: HttpRequest) -> dict[str, str]:
    """The Active Pairings filters from the query string (also used by Export)."""
    health = request.GET.get("health", "")
    return {
        "query": search_text(request.GET.get("q")),
        "health": health if health in monitor_health.HEALTH_LABELS else "",
        "sort": request.GET.get("sort", monitor_health.DEFAULT_SORT)[:20],
    }


def filter_query(filters: dict[str, str]) -> str:
    """The filters as a query string, for sort links, pages and Export."""
    params = {"q": filters["query"], "health": filters["health"], "sort": filters["sort"]}
    return urlencode({k: v for k, v in params.items() if v})


# --- Auto-pair and the waitlist ---


class RunForm(forms.Form):
    objective = forms.ChoiceField(
        choices=AutoPairRun.Objective.choices,
        initial=AutoPairRun.Objective.MOST_PAIRS,
        widget=forms.RadioSelect,
        label="Aim for",
    )
    avoid_shared_manager = forms.BooleanField(
        required=False, label="Not someone who reports to the same manager as the mentee"
    )
    different_department = forms.BooleanField(
        required=False, label="Mentor from a different department"
    )
    include_not_accepting = forms.BooleanField(
        required=False, label="Include mentors who have stopped accepting requests"
    )
    allow_paired_before = forms.BooleanField(
        required=False, label="Allow pairs who were paired before in this program"
    )
    waitlist_only = forms.BooleanField(required=False, label="Only mentees on the waitlist")
    preference_bonus = forms.IntegerField(
        min_value=0,
        max_value=MAX_PREFERENCE_BONUS,
        initial=10,
        label="Bonus for a mentee's own choice (points)",
        help_text=(
            "Added to the match score when the mentee listed that mentor in their preferences: "
            "the full bonus for a first choice, less for later ones. 0 ignores preferences."
        ),
    )

    def options(self) -> Options:
        return Options(**self.cleaned_data)


class AddForm(forms.Form):
    PLACES = {"end": "At the end of the line", "first": "First in line"}

    # Any mentee of the program: the service refuses one who is paired or has a
    # pending request, with a message that says which.
    mentee = forms.ModelChoiceField(
        queryset=Participant.objects.none(),
        error_messages={
            "required": "Choose a mentee to add.",
            "invalid_choice": "Choose a mentee of this program.",
        },
    )
    place = forms.ChoiceField(
        label="Place in line", choices=PLACES.items(), initial="end", widget=forms.RadioSelect
    )

    def __init__(self, *args, program: Program, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["mentee"].queryset = Participant.objects.mentees().filter(program=program)


# --- The personal page ("My mentoring") ------------------------------------------------


class HomeLinkForm(forms.Form):
    email = forms.EmailField(
        label=gettext_lazy("Your email address"),
        max_length=254,
        error_messages={"required": gettext_lazy("Enter your email address.")},
        widget=forms.EmailInput(attrs={"autocomplete": "email", "inputmode": "email"}),
    )


class OwnProfileForm(QuestionFieldsMixin, forms.Form):
    """A person's own profile from their personal page; a mentor's capacity too."""

    department = forms.CharField(label=gettext_lazy("Department"), required=False, max_length=120)
    location = forms.CharField(label=gettext_lazy("Location"), required=False, max_length=120)
    bio = forms.CharField(
        label=gettext_lazy("About you"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 5, "maxlength": 2000}),
    )
    capacity = forms.IntegerField(
        label=gettext_lazy("How many mentees you can take at once"),
        min_value=0,
        max_value=50,
        error_messages={
            "required": gettext_lazy("Enter a number from 0 to 50."),
            "min_value": gettext_lazy("Enter a number from 0 to 50."),
            "max_value": gettext_lazy("Enter a number from 0 to 50."),
        },
    )

    def __init__(self, *args, person: Participant, questions, **kwargs):
        super().__init__(*args, **kwargs)
        self.role = person.role
        if person.role != Participant.Role.MENTOR:
            del self.fields["capacity"]
        # The questions this person is asked, after department and location.
        self.add_question_fields(questions, answers=person.answer_values)
        for name in ("bio", "capacity"):
            if name in self.fields:
                self.fields[name] = self.fields.pop(name)

    def clean(self):
        data = super().clean()
        for name in ("department", "location"):
            if name in data:
                data[name] = one_line(data[name])
        if "bio" in data:
            data["bio"] = multi_line(data["bio"])
        self.clean_questions(self.role)
        return data

    def changes(self) -> tuple[dict, dict]:
        """(record fields, answers) the person changed from what their page showed."""
        keys = {q.key: q.pk for q in self.question_list if not q.profile_field}
        record = {n: self.cleaned_data[n] for n in self.changed_data if n not in keys}
        answers = {
            keys[n]: self.answer_values[keys[n]]
            for n in self.changed_data
            if n in keys and keys[n] in self.answer_values
        }
        return record, answers


class AwayForm(forms.Form):
    until = forms.DateField(
        label=gettext_lazy("Unavailable until"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={
            "required": gettext_lazy("Pick the day you can take requests again."),
            "invalid": gettext_lazy("Pick a date from the calendar."),
        },
    )


class OwnDeclineForm(forms.Form):
    message = forms.CharField(
        required=False,
        max_length=MESSAGE_MAX,
        label=gettext_lazy("A message to the mentee"),
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": MESSAGE_MAX}),
    )

    def clean_message(self) -> str:
        return multi_line(self.cleaned_data["message"])
