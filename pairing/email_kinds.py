"""Pairing's emails: their kinds, placeholders and default wording.

Registered with pairing_admin.mail.kinds in PairingConfig.ready().
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from pairing_admin.mail.rendering import COMMON, Template


class EmailKind(models.TextChoices):
    MENTOR_REQUEST = "mentor_request", "Mentor request"
    REQUEST_REMINDER = "request_reminder", "Request reminder"
    ASSIGNMENT = "assignment", "Mentorship Assignments"
    REQUEST_DECLINED = "request_declined", "Request declined"
    REQUEST_EXPIRED = "request_expired", "Request expired"
    REQUEST_FORWARDED = "request_forwarded", "Request passed to next choice"
    REQUEST_CANCELLED = "request_cancelled", "Request cancelled by the program team"
    REQUEST_CLOSED = "request_closed", "Request closed: mentor full"
    WAITLIST_OFFER = "waitlist_offer", "Waitlist: a mentor has room"
    WAITLIST_RETURNED = "waitlist_returned", "Waitlist: back in line after an offer"
    MENTOR_REQUESTS = "mentor_requests", "Mentor requests (several at once)"
    ASSIGNMENTS = "assignments", "Mentorship Assignments (several at once)"
    PAIRING_ENDED = "pairing_ended", "Pairing ended"
    PAIRINGS_ENDED = "pairings_ended", "Pairings ended (several at once)"
    HOME_LINK = "personal_page_link", "Link to the personal page (asked for)"


VARIABLES: dict[str, dict[str, str]] = {
    EmailKind.MENTOR_REQUEST: {
        **COMMON,
        "mentee_name": "Mentee's full name",
        "mentee_profile": "Mentee's title, department, location and short answers to the program's questions",
        "mentee_note": "The mentee's note to the mentor",
        "deadline": "Date by which to respond",
        "approve_link": "Link to approve",
        "decline_link": "Link to decline",
    },
    EmailKind.REQUEST_REMINDER: {
        **COMMON,
        "mentee_name": "Mentee's full name",
        "deadline": "Date by which to respond",
        "approve_link": "Link to approve",
        "decline_link": "Link to decline",
    },
    EmailKind.ASSIGNMENT: {
        **COMMON,
        "partner_name": "The other person's full name",
        "partner_email": "The other person's email",
        "partner_role": "mentor or mentee",
        "session_link": "Link to log a mentoring session",
    },
    EmailKind.REQUEST_DECLINED: {
        **COMMON,
        "mentor_name": "Mentor's full name",
        "decline_message": "The mentor's message (may be empty)",
        "preferences_link": "Link back to the preference form",
    },
    EmailKind.REQUEST_EXPIRED: {
        **COMMON,
        "mentor_name": "Mentor's full name",
        "preferences_link": "Link back to the preference form",
    },
    EmailKind.REQUEST_FORWARDED: {
        **COMMON,
        "mentor_name": "The mentor who did not take the request",
        "next_mentor_name": "The mentor the request went to",
        "deadline": "Date by which the new mentor should respond",
        "preferences_link": "Link back to the preference form",
    },
    EmailKind.REQUEST_CANCELLED: {
        **COMMON,
        "mentor_name": "Mentor's full name",
        "preferences_link": "Link back to the preference form",
    },
    EmailKind.REQUEST_CLOSED: {
        **COMMON,
        "mentor_name": "Mentor's full name",
        "preferences_link": "Link back to the preference form",
    },
    EmailKind.WAITLIST_OFFER: {
        **COMMON,
        "mentor_name": "The mentor who has room",
        "deadline": "Date by which the mentor should respond",
        "preferences_link": "Link to see or withdraw the request",
    },
    EmailKind.WAITLIST_RETURNED: {
        **COMMON,
        "mentor_name": "The mentor the offer went to",
        "what_happened": "Why it ended (declined, lapsed, places filled, closed)",
        "preferences_link": "Link to the mentee's page",
    },
    EmailKind.MENTOR_REQUESTS: {
        **COMMON,
        "count": "How many requests",
        "deadline": "Date by which to respond (the earliest)",
        "requests": "One paragraph per mentee: name, profile, Approve and Decline links",
    },
    EmailKind.ASSIGNMENTS: {
        **COMMON,
        "count": "How many new mentees",
        "mentees": "One paragraph per mentee: name, email and the link to log sessions",
    },
    EmailKind.PAIRING_ENDED: {
        **COMMON,
        "partner_name": "The other person's full name",
        "next_step": "What happens next for the mentee (empty for the mentor)",
    },
    EmailKind.PAIRINGS_ENDED: {
        **COMMON,
        "count": "How many pairings ended",
        "partners": "The mentees whose pairing with the recipient ended, one per line",
    },
}


# The placeholders without which the recipient cannot act on the email (their
# personal link, the Approve and Decline links, the partner's address, or the
# list that carries them); kinds that only inform require nothing.
REQUIRED: dict[str, tuple[str, ...]] = {
    EmailKind.MENTOR_REQUEST: ("approve_link", "decline_link"),
    EmailKind.REQUEST_REMINDER: ("approve_link", "decline_link"),
    EmailKind.ASSIGNMENT: ("partner_email", "session_link"),
    EmailKind.REQUEST_DECLINED: ("preferences_link",),
    EmailKind.REQUEST_EXPIRED: ("preferences_link",),
    EmailKind.REQUEST_FORWARDED: ("preferences_link",),
    EmailKind.REQUEST_CANCELLED: ("preferences_link",),
    EmailKind.REQUEST_CLOSED: ("preferences_link",),
    EmailKind.WAITLIST_OFFER: ("preferences_link",),
    EmailKind.WAITLIST_RETURNED: ("preferences_link",),
    EmailKind.MENTOR_REQUESTS: ("requests",),
    EmailKind.ASSIGNMENTS: ("mentees",),
    EmailKind.PAIRING_ENDED: ("next_step",),
}


DEFAULTS: dict[str, Template] = {
    EmailKind.MENTOR_REQUEST: Template(
        subject=_("{{ mentee_name }} would like you as their mentor"),
        text=_(
            "Hi {{ first_name }},\n\n"
            "{{ mentee_name }} has asked you to be their mentor in {{ program_name }}.\n\n"
            "About them: {{ mentee_profile }}\n\n"
            "Their note: {{ mentee_note }}\n\n"
            "Please respond by {{ deadline }}; after that the request lapses and they will "
            "choose someone else.\n\n"
            "Approve: {{ approve_link }}\n\n"
            "Decline (you can add a message): {{ decline_link }}\n\n"
            "{{ organization_name }}"
        ),
    ),
    EmailKind.REQUEST_REMINDER: Template(
        subject=_("Reminder: {{ mentee_name }} is waiting for your answer"),
        text=_(
            "Hi {{ first_name }},\n\n"
            "{{ mentee_name }}'s request to have you as their mentor in {{ program_name }} is "
            "still open. It lapses at the end of {{ deadline }}.\n\n"
            "Approve: {{ approve_link }}\n\n"
            "Decline: {{ decline_link }}\n\n"
            "{{ organization_name }}"
        ),
    ),
    EmailKind.ASSIGNMENT: Template(
        subject=_("Mentorship Assignments: you are paired with {{ partner_name }}"),
        text=_(
            "Hi {{ first_name }},\n\n"
            "Good news: in {{ program_name }} you are now paired with {{ partner_name }} "
            "(your {{ partner_role }}). You can reach them at {{ partner_email }}.\n\n"
            "A first conversation in the next week or two is a great start. After each "
            "meeting, log it here so your program team can see how things are going: "
            "{{ session_link }}\n\n"
            "{{ organization_name }}"
        ),
    ),
    EmailKind.REQUEST_DECLINED: Template(
        subject=_("{{ mentor_name }} can't take your request this time"),
        text=_(
            "Hi {{ first_name }},\n\n"
            "{{ mentor_name }} isn't able to mentor you in {{ program_name }} right now.\n\n"
            "Their message: {{ decline_message }}\n\n"
            "Other mentors still have room. Choose again here: {{ preferences_link }}\n\n"
            "{{ organization_name }}"
        ),
    ),
    EmailKind.REQUEST_EXPIRED: Template(
        subject=_("Your request to {{ mentor_name }} has lapsed"),
        text=_(
            "Hi {{ first_name }},\n\n"
            "{{ mentor_name }} didn't respond in time, so your request in {{ program_name }} "
            "has lapsed. Please pick another mentor: {{ preferences_link }}\n\n"
            "{{ organization_name }}"
        ),
    ),
    EmailKind.REQUEST_FORWARDED: Template(
        subject=_("Your request has gone to {{ next_mentor_name }}"),
        text=_(
            "Hi {{ first_name }},\n\n"
            "{{ mentor_name }} couldn't take your request in {{ program_name }}, so we passed "
            "it to your next choice, {{ next_mentor_name }}. They have until {{ deadline }} "
            "to respond.\n\n"
            "You can see or change your choices here: {{ preferences_link }}\n\n"
            "{{ organization_name }}"
        ),
    ),
    EmailKind.REQUEST_CANCELLED: Template(
        subject=_("Your request to {{ mentor_name }} was withdrawn by your program team"),
        text=_(
            "Hi {{ first_name }},\n\n"
            "Your program team has closed your request to {{ mentor_name }} in "
            "{{ program_name }}, so there is no need to wait for an answer. You're free to "
            "choose a mentor again: {{ preferences_link }}\n\n"
            "If you're not sure why, reply to your program team.\n\n"
            "{{ organization_name }}"
        ),
    ),
    EmailKind.REQUEST_CLOSED: Template(
        subject=_("{{ mentor_name }} can't take new mentees now: choose another mentor"),
        text=_(
            "Hi {{ first_name }},\n\n"
            "{{ mentor_name }} can't take on more mentees in {{ program_name }} right now "
            "(their places are full, or they have paused), so your request to them is "
            "closed. It isn't a no to you: this happened before they could answer.\n\n"
            "Other mentors still have room. Choose again here: {{ preferences_link }}\n\n"
            "{{ organization_name }}"
        ),
    ),
    EmailKind.WAITLIST_OFFER: Template(
        subject=_("A mentor has room: your request is with {{ mentor_name }}"),
        text=_(
            "Hi {{ first_name }},\n\n"
            "A seat opened up in {{ program_name }}, and you were next on the waitlist. "
            "We have sent your request to {{ mentor_name }}, who has until {{ deadline }} to "
            "answer. We'll email you either way.\n\n"
            "If you'd rather not, you can withdraw the request here: {{ preferences_link }}\n\n"
            "{{ organization_name }}"
        ),
    ),
    EmailKind.WAITLIST_RETURNED: Template(
        subject=_("You're still on the waitlist"),
        text=_(
            "Hi {{ first_name }},\n\n"
            "Your request to {{ mentor_name }} in {{ program_name }} didn't work out this "
            "time: {{ what_happened }}. You keep your place on the waitlist, and we'll email "
            "you as soon as another mentor has room.\n\n"
            "You can see your place, or choose a mentor who has room now, here: "
            "{{ preferences_link }}\n\n"
            "{{ organization_name }}"
        ),
    ),
    EmailKind.MENTOR_REQUESTS: Template(
        subject=_("{{ count }} mentees would like you as their mentor"),
        text=_(
            "Hi {{ first_name }},\n\n"
            "{{ count }} mentees in {{ program_name }} have asked you to be their mentor. "
            "Each has their own links, so you can answer them one by one:\n\n"
            "{{ requests }}\n\n"
            "Please respond by {{ deadline }}; after that the requests lapse.\n\n"
            "{{ organization_name }}"
        ),
    ),
    EmailKind.ASSIGNMENTS: Template(
        subject=_("Mentorship Assignments: {{ count }} new mentees"),
        text=_(
            "Hi {{ first_name }},\n\n"
            "In {{ program_name }} you are now paired with {{ count }} mentees:\n\n"
            "{{ mentees }}\n\n"
            "A first conversation with each in the next week or two is a great start. After "
            "each meeting, log it with that mentee's link so your program team can see how "
            "things are going.\n\n"
            "{{ organization_name }}"
        ),
    ),
    EmailKind.PAIRING_ENDED: Template(
        subject=_("Your pairing with {{ partner_name }} has ended"),
        text=_(
            "Hi {{ first_name }},\n\n"
            "Your pairing with {{ partner_name }} in {{ program_name }} has been ended by the "
            "program team. Thank you for the time you gave it. {{ next_step }}\n\n"
            "If you have questions, reply to your program team.\n\n"
            "{{ organization_name }}"
        ),
    ),
    EmailKind.PAIRINGS_ENDED: Template(
        subject=_("{{ count }} of your pairings have ended"),
        text=_(
            "Hi {{ first_name }},\n\n"
            "The program team of {{ program_name }} has ended your pairings with:\n\n"
            "{{ partners }}\n\n"
            "Thank you for the time you gave them. If you have questions, reply to your "
            "program team.\n\n"
            "{{ organization_name }}"
        ),
    ),
}


# --- The personal page ("My mentoring"): a fresh link asked for by email ---------------

VARIABLES[EmailKind.HOME_LINK] = {**COMMON, "home_link": "Link to the person's own page"}
REQUIRED[EmailKind.HOME_LINK] = ("home_link",)
DEFAULTS[EmailKind.HOME_LINK] = Template(
    subject=_("Your link to My mentoring in {{ program_name }}"),
    text=_(
        "Hi {{ first_name }},\n\n"
        "Here is your link to My mentoring in {{ program_name }}: your requests, your "
        "pairings and your profile, in one place. It works for 30 days; you can ask for a "
        "new one whenever you like.\n\n"
        "{{ home_link }}\n\n"
        "If you didn't ask for it, you can ignore this email: nothing changes until you "
        "open the link and choose to.\n\n"
        "{{ organization_name }}"
    ),
)
