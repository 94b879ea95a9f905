"""The emails every program starts with, in our own words. Admins may edit them."""

from pairing_admin.mail.models import EmailKind
from pairing_admin.mail.rendering import Template

DEFAULTS: dict[str, Template] = {
    EmailKind.INVITATION: Template(
        subject="{{ program_name }}: choose who you'd like as your mentor",
        text=(
            "Hi {{ first_name }},\n\n"
            "Pairing is open for {{ program_name }}. Have a look at the mentors who still have "
            "room, see why each one could suit you, and tell us who you would like to work with.\n\n"
            "Choose your mentors: {{ preferences_link }}\n\n"
            "The link is personal to you, so please don't forward it.\n\n"
            "{{ organization_name }}"
        ),
    ),
    EmailKind.MENTOR_REQUEST: Template(
        subject="{{ mentee_name }} would like you as their mentor",
        text=(
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
        subject="Reminder: {{ mentee_name }} is waiting for your answer",
        text=(
            "Hi {{ first_name }},\n\n"
            "{{ mentee_name }}'s request to have you as their mentor in {{ program_name }} is "
            "still open. It lapses at the end of {{ deadline }}.\n\n"
            "Approve: {{ approve_link }}\n\n"
            "Decline: {{ decline_link }}\n\n"
            "{{ organization_name }}"
        ),
    ),
    EmailKind.ASSIGNMENT: Template(
        subject="Mentorship Assignments: you are paired with {{ partner_name }}",
        text=(
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
        subject="{{ mentor_name }} can't take your request this time",
        text=(
            "Hi {{ first_name }},\n\n"
            "{{ mentor_name }} isn't able to mentor you in {{ program_name }} right now.\n\n"
            "Their message: {{ decline_message }}\n\n"
            "Other mentors still have room. Choose again here: {{ preferences_link }}\n\n"
            "{{ organization_name }}"
        ),
    ),
    EmailKind.REQUEST_EXPIRED: Template(
        subject="Your request to {{ mentor_name }} has lapsed",
        text=(
            "Hi {{ first_name }},\n\n"
            "{{ mentor_name }} didn't respond in time, so your request in {{ program_name }} "
            "has lapsed. Please pick another mentor: {{ preferences_link }}\n\n"
            "{{ organization_name }}"
        ),
    ),
    EmailKind.REQUEST_CANCELLED: Template(
        subject="Your request to {{ mentor_name }} was withdrawn by your program team",
        text=(
            "Hi {{ first_name }},\n\n"
            "Your program team has closed your request to {{ mentor_name }} in "
            "{{ program_name }}, so there is no need to wait for an answer. You're free to "
            "choose a mentor again: {{ preferences_link }}\n\n"
            "If you're not sure why, reply to your program team.\n\n"
            "{{ organization_name }}"
        ),
    ),
    EmailKind.REQUEST_FORWARDED: Template(
        subject="Your request has gone to {{ next_mentor_name }}",
        text=(
            "Hi {{ first_name }},\n\n"
            "{{ mentor_name }} couldn't take your request in {{ program_name }}, so we passed "
            "it to your next choice, {{ next_mentor_name }}. They have until {{ deadline }} "
            "to respond.\n\n"
            "You can see or change your choices here: {{ preferences_link }}\n\n"
            "{{ organization_name }}"
        ),
    ),
    EmailKind.REQUEST_CLOSED: Template(
        subject="{{ mentor_name }} can't take new mentees now: choose another mentor",
        text=(
            "Hi {{ first_name }},\n\n"
            "{{ mentor_name }} can't take on more mentees in {{ program_name }} right now "
            "(their places are full, or they have paused), so your request to them is "
            "closed. It isn't a no to you: this happened before they could answer.\n\n"
            "Other mentors still have room. Choose again here: {{ preferences_link }}\n\n"
            "{{ organization_name }}"
        ),
    ),
    EmailKind.WAITLIST_OFFER: Template(
        subject="A mentor has room: your request is with {{ mentor_name }}",
        text=(
            "Hi {{ first_name }},\n\n"
            "A seat opened up in {{ program_name }}, and you were next on the waitlist. "
            "We have sent your request to {{ mentor_name }}, who has until {{ deadline }} to "
            "answer. We'll email you either way.\n\n"
            "If you'd rather not, you can withdraw the request here: {{ preferences_link }}\n\n"
            "{{ organization_name }}"
        ),
    ),
    EmailKind.WAITLIST_RETURNED: Template(
        subject="You're still on the waitlist",
        text=(
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
        subject="{{ count }} mentees would like you as their mentor",
        text=(
            "Hi {{ first_name }},\n\n"
            "{{ count }} mentees in {{ program_name }} have asked you to be their mentor. "
            "Each has their own links, so you can answer them one by one:\n\n"
            "{{ requests }}\n\n"
            "Please respond by {{ deadline }}; after that the requests lapse.\n\n"
            "{{ organization_name }}"
        ),
    ),
    EmailKind.ASSIGNMENTS: Template(
        subject="Mentorship Assignments: {{ count }} new mentees",
        text=(
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
        subject="Your pairing with {{ partner_name }} has ended",
        text=(
            "Hi {{ first_name }},\n\n"
            "Your pairing with {{ partner_name }} in {{ program_name }} has been ended by the "
            "program team. Thank you for the time you gave it. {{ next_step }}\n\n"
            "If you have questions, reply to your program team.\n\n"
            "{{ organization_name }}"
        ),
    ),
    EmailKind.PAIRINGS_ENDED: Template(
        subject="{{ count }} of your pairings have ended",
        text=(
            "Hi {{ first_name }},\n\n"
            "The program team of {{ program_name }} has ended your pairings with:\n\n"
            "{{ partners }}\n\n"
            "Thank you for the time you gave them. If you have questions, reply to your "
            "program team.\n\n"
            "{{ organization_name }}"
        ),
    ),
    EmailKind.REGISTRATION_CONFIRM: Template(
        subject="Confirm your registration for {{ program_name }}",
        text=(
            "Hello,\n\n"
            "Someone, we hope you, used this email address to join {{ program_name }}. "
            "To finish, open this link and press Confirm:\n\n"
            "{{ confirm_link }}\n\n"
            "The link works once, for 48 hours: until {{ confirm_by }}. Nothing is saved "
            "to the program until you confirm. If you were already in the program, "
            "confirming changes nothing; your program team can update your details.\n\n"
            "If this wasn't you, ignore this email and nothing will happen.\n\n"
            "{{ organization_name }}"
        ),
    ),
    EmailKind.SUPPORT_REQUEST: Template(
        subject="[{{ organization_name }}] {{ request_subject }}",
        text=(
            "Support request from {{ admin_name }} <{{ admin_email }}>\n"
            "Organization: {{ organization_name }}\n"
            "Program: {{ program_name }}\n\n"
            "{{ message }}\n\n"
            "Reply to this email to answer {{ admin_name }} directly."
        ),
    ),
}
