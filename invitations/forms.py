from django import forms

from pairing_admin.lib.text import multi_line, without_bidi
from programs.services import SUPPORT_MESSAGE_MAX, SUPPORT_SUBJECT_MAX


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
