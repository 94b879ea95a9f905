from django import forms

from pairing.services.decisions import MESSAGE_MAX
from pairing.services.requests import NOTE_MAX
from pairing_admin.lib.text import multi_line

ORDINALS = {1: "1st", 2: "2nd", 3: "3rd"}


def ordinal(n: int) -> str:
    return f"{ORDINALS.get(n, f'{n}th')} choice"


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
        label="A note to your mentor",
        help_text="Why you'd like to work with them, what you hope to learn. Up to 1,000 characters.",
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
            raise forms.ValidationError("Choose at least one mentor.")
        if any(mentor_id not in self.offered for mentor_id in ranks):
            raise forms.ValidationError(
                "One of the mentors you chose is no longer available. Please check your choices."
            )
        if any(not 1 <= rank <= self.max_preferences for rank in ranks.values()):
            raise forms.ValidationError(f"You can choose up to {self.max_preferences} mentors.")
        if len(set(ranks.values())) != len(ranks):
            raise forms.ValidationError(
                "Give each mentor a different place: one 1st choice, one 2nd choice, and so on."
            )
        self.ranked = [mentor_id for mentor_id, _ in sorted(ranks.items(), key=lambda kv: kv[1])]
        return cleaned


class DeclineForm(forms.Form):
    message = forms.CharField(
        required=False,
        max_length=MESSAGE_MAX,
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": MESSAGE_MAX}),
        label="A message to the mentee",
        help_text="We send it with the news, so they know why. Up to 1,000 characters.",
    )
    unavailable = forms.BooleanField(
        required=False,
        label="I'm unavailable for now",
        help_text="No new requests will come to you until your program team turns them back on. "
        "Your current mentees stay with you.",
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
