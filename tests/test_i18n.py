"""Participants are spoken to in their program's language: pages, default emails, dates.

The catalogue check extracts the msgids of exactly the participant-facing files
(as `makemessages` does: Django's templatize for templates, xgettext for both)
and asks msgcmp whether the shipped French catalogue translates every one of
them (missing, empty and fuzzy entries all fail). The rendering checks open
each participant page and each default participant email of a French program
and look for English left in it: any English msgid of more than three words,
and everyday English words that would betray a string nobody marked.
"""

import gettext
import html
import re
import shutil
import subprocess
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation.template import templatize

from invitations import services as invitation_services
from invitations.email_kinds import EmailKind as InvitationKind
from pairing import services, waitlist
from pairing.deadlines import deadline_label, deadline_label_for
from pairing.email_kinds import EmailKind as PairingKind
from pairing.models import MentorRequest
from pairing_admin.lib.db import is_postgresql
from pairing_admin.lib.errors import DomainError
from pairing_admin.lib.i18n import SHIPPED, browser_language
from pairing_admin.mail import kinds
from pairing_admin.mail.branding import brand_for, frame
from pairing_admin.mail.email_templates import sample_values
from pairing_admin.mail.links import Purpose, link_create
from pairing_admin.mail.models import OutboundEmail
from pairing_admin.mail.outbox import template_for
from pairing_admin.mail.rendering import render
from programs.email_kinds import EmailKind as ProgramsKind
from programs.models import PARTICIPANT_LANGUAGES, Program
from programs.services import ensure_pairing_open
from tests import factories

BASE = Path(settings.BASE_DIR)
PO = BASE / "locale/fr/LC_MESSAGES/django.po"
MO = BASE / "locale/fr/LC_MESSAGES/django.mo"

# What mentees and mentors see: a new participant template or module goes here.
PARTICIPANT_TEMPLATES = [
    "templates/participant_base.html",
    "templates/includes/field.html",
    "templates/includes/form_errors.html",
    "templates/pairing/_form_fields.html",
    "templates/pairing/_me_button.html",
    "templates/pairing/link_invalid.html",
    "templates/pairing/me.html",
    "templates/pairing/me_ask.html",
    "templates/pairing/me_profile.html",
    "templates/pairing/request_confirm.html",
    "templates/pairing/request_decided.html",
    "templates/pairing/preferences.html",
    "templates/pairing/request_rate_limited.html",
    "templates/pairing/session_log.html",
    "templates/pairing/waitlist_join.html",
    "templates/programs/register.html",
    "templates/programs/register_closed.html",
    "templates/programs/register_confirm.html",
    "templates/programs/register_done.html",
    "templates/programs/register_limited.html",
]
PARTICIPANT_PYTHON = [
    "invitations/email_kinds.py",
    "pairing/email_kinds.py",
    "programs/email_kinds.py",
    "pairing/drafts.py",
    "pairing/forms.py",
    "pairing/views/links.py",
    "pairing/views/personal.py",
    "pairing/services/personal.py",
    "pairing/models.py",
    "pairing/services/ending.py",
    "pairing/services/requests.py",
    "pairing/services/decisions.py",
    "pairing/services/_common.py",
    "programs/services.py",
    "pairing/services/sessions.py",
    "pairing/waitlist.py",
    "pairing/matching.py",
    "programs/forms.py",
    "programs/match_weights.py",
    "programs/questions.py",
    "programs/question_forms.py",
    "programs/registration.py",
    "pairing_admin/lib/i18n.py",
    "pairing_admin/mail/branding.py",
]
# Kinds only our support desk reads.
NOT_PARTICIPANT_KINDS = {ProgramsKind.SUPPORT_REQUEST}

needs_gettext = pytest.mark.skipif(
    not (shutil.which("xgettext") and shutil.which("msgcmp") and shutil.which("msgfmt")),
    reason="GNU gettext tools (xgettext, msgcmp, msgfmt) are not installed",
)


# --- The catalogue -------------------------------------------------------------------


def _catalog(mo_path: Path) -> dict:
    with mo_path.open("rb") as handle:
        return dict(gettext.GNUTranslations(handle)._catalog)


@needs_gettext
def test_the_committed_mo_says_what_the_po_says(tmp_path):
    """The .mo is committed (a fresh machine may have no gettext tools): it must be
    the compiled .po, not an older one."""
    fresh = tmp_path / "django.mo"
    subprocess.run(["msgfmt", "--check", "-o", str(fresh), str(PO)], check=True)
    assert _catalog(MO) == _catalog(fresh)


def _participant_pot(tmp_path: Path) -> Path:
    sources = []
    for name in PARTICIPANT_TEMPLATES:
        out = tmp_path / (name.replace("/", "__") + ".py")
        out.write_text(templatize((BASE / name).read_text(), origin=name), encoding="utf-8")
        sources.append(str(out))
    sources += [str(BASE / name) for name in PARTICIPANT_PYTHON]
    pot = tmp_path / "participant.pot"
    keywords = [
        "gettext_noop",
        "gettext_lazy",
        "ngettext_lazy:1,2",
        "pgettext:1c,2",
        "npgettext:1c,2,3",
        "pgettext_lazy:1c,2",
        "npgettext_lazy:1c,2,3",
    ]
    subprocess.run(
        ["xgettext", "-L", "Python", "--from-code=UTF-8", "--force-po", "-o", str(pot)]
        + [f"--keyword={k}" for k in keywords]
        + sources,
        check=True,
        capture_output=True,
    )
    return pot


@needs_gettext
def test_every_participant_string_has_a_french_translation(tmp_path):
    pot = _participant_pot(tmp_path)
    assert pot.read_text().count("msgid ") > 150  # the extraction found the strings
    result = subprocess.run(["msgcmp", str(PO), str(pot)], capture_output=True, text=True)
    assert result.returncode == 0, (
        "participant strings without a French translation (run `make messages`, then "
        f"translate them in {PO.relative_to(BASE)}):\n{result.stderr}"
    )


@needs_gettext
def test_the_check_fails_for_a_new_or_an_emptied_participant_string(tmp_path):
    """The test above catches a string the catalogue lacks, or translates with nothing."""
    pot = _participant_pot(tmp_path)
    extra = tmp_path / "extra.pot"
    extra.write_text(pot.read_text() + '\nmsgid "A brand new sentence for mentees."\nmsgstr ""\n')
    result = subprocess.run(["msgcmp", str(PO), str(extra)], capture_output=True, text=True)
    assert result.returncode != 0 and "not defined" in result.stderr
    emptied = tmp_path / "django.po"
    emptied.write_text(
        PO.read_text().replace('msgstr "Retirer ma demande"', 'msgstr ""'), encoding="utf-8"
    )
    result = subprocess.run(["msgcmp", str(emptied), str(pot)], capture_output=True, text=True)
    assert result.returncode != 0


# --- English left in French output ------------------------------------------------------


def _english_sentences() -> list[str]:
    """The catalogue's msgids of more than three words, as they would show in a page."""
    found = []
    for msgid in _catalog(MO):
        text = msgid[0] if isinstance(msgid, tuple) else msgid
        # Placeholders vary per page; keep the longest literal run between them.
        for piece in re.split(r"%\(\w+\)[sd]|\{\{ \w+ \}\}|<[^>]+>|\n", text):
            piece = piece.strip(" .,:;")
            if len(piece.split()) > 3:
                found.append(piece)
    return found


# Words no French sentence of ours contains; a page's fixed text showing one was
# not marked for translation (the names in these tests avoid them).
ENGLISH_WORDS = re.compile(
    r"\b(the|your|you|with|and|please|this|that|are|will|link|choose|mentee)\b", re.I
)


def _visible_text(page: str) -> str:
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    page = re.sub(r"<[^>]+>", " ", page)
    return re.sub(r"\s+", " ", html.unescape(page))


def assert_french(text: str) -> None:
    leftovers = [s for s in _english_sentences() if s in text]
    assert not leftovers, f"English in a French page or email: {leftovers}"
    words = ENGLISH_WORDS.findall(text)
    assert not words, f"English words {words} in: {text}"


@pytest.fixture
def french(org):
    org.name = "Société Exemple"
    org.save()
    return factories.ProgramFactory(
        organization=org, name="Programme Printemps", pairing_enabled=True, language="fr"
    )


def _mentee(program, **kw):
    return factories.ParticipantFactory(
        program=program, first_name="Léa", last_name="Martin", goals=["Leadership"], **kw
    )


def _mentor(program, **kw):
    return factories.MentorFactory(
        program=program, first_name="Hugo", last_name="Bernard", skills=["Leadership"], **kw
    )


def test_a_french_programs_preference_page_is_french_whatever_the_browser(french, client):
    mentee = _mentee(french)
    _mentor(french)
    raw = factories.preferences_link(mentee)
    response = client.get(f"/p/{raw}/", HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9")
    page = response.content.decode()
    assert response.status_code == 200 and response["Content-Language"] == "fr"
    assert '<html lang="fr">' in page
    assert "Indiquez vos préférences de mentor" in page and "1er choix" in page
    assert "Compétences : Leadership" in page
    assert_french(_visible_text(page))


def test_an_english_program_stays_english_for_a_french_browser(org, client):
    program = factories.ProgramFactory(organization=org, pairing_enabled=True)
    mentee = _mentee(program)
    raw = factories.preferences_link(mentee)
    page = client.get(f"/p/{raw}/", HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9").content.decode()
    assert '<html lang="en">' in page and "Submit Your Mentor Preferences" in page


def test_french_pages_after_each_mentee_action(french, client):
    mentee = _mentee(french)
    mentor = _mentor(french)
    raw = factories.preferences_link(mentee)
    response = client.post(f"/p/{raw}/choose/", {f"rank_{mentor.pk}": "1"}, follow=True)
    page = response.content.decode()
    assert "Votre demande a été envoyée à Hugo Bernard" in page
    assert "Votre demande est chez Hugo Bernard" in page
    assert_french(_visible_text(page))
    refused = client.post(f"/p/{raw}/choose/", {}).content.decode()
    assert_french(_visible_text(refused))


def test_french_waitlist_and_session_pages(french, client):
    Program.objects.filter(pk=french.pk).update(waitlist_enabled=True)
    mentee = _mentee(french)
    _mentor(french, capacity=0)
    raw = factories.preferences_link(mentee)
    page = client.get(f"/p/{raw}/waitlist/").content.decode()
    assert "Rejoindre la liste d'attente" in html.unescape(page)
    assert_french(_visible_text(page))
    pairing = factories.PairingFactory(program=french, mentee=mentee, mentor=_mentor(french))
    factories.MentoringSessionFactory(pairing=pairing, date=datetime(2026, 12, 14).date())
    _, token = link_create(
        purpose=Purpose.SESSION,
        participant=mentee,
        expires_at=timezone.now() + timedelta(days=30),
        object_id=pairing.pk,
    )
    page = client.get(f"/s/{token}/").content.decode()
    assert "Noter une séance de mentorat" in page and "14 décembre 2026" in page
    assert_french(_visible_text(page))


def test_unknown_links_answer_in_the_browsers_shipped_language(db, client):
    page = client.get("/p/no-such-token/", HTTP_ACCEPT_LANGUAGE="fr-CA,fr;q=0.9").content
    assert '<html lang="fr">' in page.decode() and "Ce lien ne peut pas être utilisé" in (
        html.unescape(page.decode())
    )
    assert_french(_visible_text(page.decode()))
    page = client.get("/p/no-such-token/", HTTP_ACCEPT_LANGUAGE="de-DE,de").content.decode()
    assert '<html lang="en">' in page and "This link can" in page


def test_browser_language_takes_the_first_shipped_one(rf):
    assert browser_language(rf.get("/", HTTP_ACCEPT_LANGUAGE="de, fr;q=0.8, en;q=0.5")) == "fr"
    assert browser_language(rf.get("/", HTTP_ACCEPT_LANGUAGE="es")) == "en"
    assert browser_language(rf.get("/")) == "en"
    assert browser_language(rf.get("/", HTTP_ACCEPT_LANGUAGE="en;q=0.2, fr")) == "fr"
    assert browser_language(rf.get("/", HTTP_ACCEPT_LANGUAGE="fr;q=0, de")) == "en"


def test_the_shipped_languages_are_the_programs_choices():
    assert [code for code, _ in PARTICIPANT_LANGUAGES] == list(SHIPPED)


def test_french_registration_pages_and_confirmation_email(french, client):
    Program.objects.filter(pk=french.pk).update(registration_open=True)
    url = reverse("register", kwargs={"token": french.registration_token})
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="fr">' in page and "Rejoindre Programme Printemps" in page
    assert_french(_visible_text(page))
    response = client.post(
        url, {"role": "mentor", "first_name": "Hugo", "email": "hugo@example.org"}, follow=True
    )
    assert_french(_visible_text(response.content.decode()))
    email = OutboundEmail.objects.get(program=french)
    assert email.subject == "Confirmez votre inscription à Programme Printemps"
    assert re.search(r"jusqu'au \w+ \d+ \w+ à \d\d:\d\d", email.body_text)
    assert_french(_visible_text(email.body_text))
    code = re.search(r"/confirm/([A-Za-z0-9_-]+)/", email.body_text).group(1)
    confirm = reverse("register_confirm", kwargs={"token": french.registration_token, "code": code})
    page = client.get(confirm).content.decode()
    assert "Confirmez votre inscription" in page
    assert re.search(r"Mentor, \d+ personnes? à la fois", page)
    assert_french(_visible_text(page))


def test_every_default_participant_email_is_french_for_a_french_program(french):
    for kind in kinds.DEFAULTS:
        if kind in NOT_PARTICIPANT_KINDS:
            continue
        template = template_for(french, kind)
        assert template.text != kinds.DEFAULTS[kind].text, kind
        with translation.override("fr"):
            values = {name: "" for name in kinds.VARIABLES[kind]}
        subject, text, _html = render(kind, template, values)
        assert_french(subject + "\n" + text)


def test_a_custom_template_is_sent_as_written(french):
    factories.EmailTemplateFactory(
        program=french,
        kind=InvitationKind.INVITATION,
        subject="Pick your mentor, {{ first_name }}",
        body_text="Hello {{ first_name }}: {{ preferences_link }}",
    )
    assert template_for(french, InvitationKind.INVITATION).subject.startswith("Pick your mentor")


def test_the_template_editor_shows_a_french_programs_default_in_french(french, org_admin_client):
    url = reverse("email_templates:edit", kwargs={"program_id": french.pk, "kind": "invitation"})
    page = html.unescape(org_admin_client.get(url).content.decode())
    assert "Programme Printemps : indiquez vos préférences de mentor" in page or (
        "{{ program_name }} : indiquez vos préférences de mentor" in page
    )


@pytest.mark.django_db
def test_dates_are_written_in_the_active_language():
    deadline = datetime(2026, 12, 14, 12, tzinfo=UTC)
    assert deadline_label(deadline, "Europe/Paris") == "Monday 14 December"
    with translation.override("fr"):
        assert deadline_label(deadline, "Europe/Paris") == "lundi 14 décembre"
    program = factories.ProgramFactory(language="fr")
    assert deadline_label_for(deadline, program) == "lundi 14 décembre"


def test_a_french_mentor_request_email_has_a_french_date_and_profile(french):
    mentee, mentor = _mentee(french), _mentor(french)
    services.preferences_submit(mentee=mentee, mentor_ids=[mentor.pk], note="")
    email = OutboundEmail.objects.get(kind=PairingKind.MENTOR_REQUEST)
    assert email.subject == "Léa Martin aimerait vous avoir comme mentor"
    assert "Objectifs : Leadership" in email.body_text and "(pas de message)" in email.body_text
    assert re.search(r"d'ici le (lundi|mardi|mercredi|jeudi|vendredi) \d+ \w+", email.body_text)
    assert_french(_visible_text(email.body_text))


@pytest.mark.parametrize("use_sql", [True, False], ids=["sql", "python"])
def test_french_invitations_are_french_on_every_rendering_path(french, org_admin, use_sql):
    """Invite all renders in SQL on PostgreSQL and in Python elsewhere: both use the
    template in the program's language."""
    if use_sql and not is_postgresql():
        pytest.skip("the SQL rendering path needs PostgreSQL")
    _mentee(french)
    invitation_services.invitation_send_all(
        program=french, user=org_admin, expected=1, use_sql=use_sql
    )
    email = OutboundEmail.objects.get(kind=InvitationKind.INVITATION)
    assert email.subject == "Programme Printemps : indiquez vos préférences de mentor"
    expected = render(
        InvitationKind.INVITATION,
        template_for(french, InvitationKind.INVITATION),
        {
            **sample_values(french),
            "first_name": "Léa",
            "preferences_link": re.search(r"https?://\S+", email.body_text).group(0),
        },
    )
    text, _html = frame(expected[1], expected[2], brand_for(french, InvitationKind.INVITATION))
    assert (email.subject, email.body_text) == (expected[0], text)


def test_french_request_and_personal_pages(french, client):
    mentee, mentor = _mentee(french), _mentor(french)
    services.preferences_submit(mentee=mentee, mentor_ids=[mentor.pk], note="")
    request = MentorRequest.objects.get(mentor=mentor)
    expires = timezone.now() + timedelta(days=5)
    for purpose in (Purpose.APPROVE, Purpose.DECLINE):
        _, token = link_create(
            purpose=purpose, participant=mentor, expires_at=expires, object_id=request.pk
        )
        page = client.get(f"/r/{token}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert '<html lang="fr">' in page and "Léa Martin" in page
        assert_french(_visible_text(page))
    _, token = link_create(purpose=Purpose.HOME, participant=mentor, expires_at=expires)
    page = client.get(f"/me/{token}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Mon mentorat" in page
    assert_french(_visible_text(page))


# --- Refusals and dates a participant reads ----------------------------------------------


def test_a_paused_french_program_refuses_a_mentee_in_their_words_not_the_admins(french, client):
    mentee, mentor = _mentee(french), _mentor(french)
    raw = factories.preferences_link(mentee)
    Program.objects.filter(pk=french.pk).update(pairing_enabled=False)  # paused meanwhile
    response = client.post(f"/p/{raw}/choose/", {f"rank_{mentor.pk}": "1"})
    page = html.unescape(response.content.decode())
    assert response.status_code == 409
    assert "Vos choix n'ont pas été envoyés, car la formation des binômes est en pause" in page
    assert "Pairing page" not in page
    assert_french(_visible_text(page))
    with pytest.raises(DomainError, match="Turn on Pairing on the Pairing page"):
        ensure_pairing_open(french)  # the admins' wording, for invitations


def test_waitlist_refusals_are_french_for_the_mentee_and_english_for_admins(
    french, client, org_admin
):
    Program.objects.filter(pk=french.pk).update(waitlist_enabled=True)
    mentee, mentor = _mentee(french), _mentor(french)
    services.preferences_submit(mentee=mentee, mentor_ids=[mentor.pk], note="")
    raw = factories.preferences_link(mentee)
    response = client.post(f"/p/{raw}/waitlist/", {})
    page = html.unescape(response.content.decode())
    assert response.status_code == 409
    assert "Vous attendez la réponse de Hugo Bernard à une demande" in page
    assert_french(_visible_text(page))
    with pytest.raises(DomainError, match="Léa Martin is waiting for Hugo Bernard"):
        waitlist.waitlist_join(mentee=mentee, user=org_admin)

    paired = _mentee(french, email="paired@example.org")
    factories.PairingFactory(program=french, mentee=paired, mentor=_mentor(french))
    raw = factories.preferences_link(paired)
    page = html.unescape(client.post(f"/p/{raw}/waitlist/", {}).content.decode())
    assert "Vous êtes déjà en binôme avec Hugo Bernard" in page
    assert_french(_visible_text(page))


def test_a_mentors_refusal_is_in_the_programs_language_whatever_the_browser(french, client):
    mentee, mentor = _mentee(french), _mentor(french, capacity=1)
    services.preferences_submit(mentee=mentee, mentor_ids=[mentor.pk], note="")
    request = MentorRequest.objects.get(mentor=mentor)
    factories.PairingFactory(program=french, mentor=mentor)  # the only seat went meanwhile
    _, token = link_create(
        purpose=Purpose.APPROVE,
        participant=mentor,
        expires_at=timezone.now() + timedelta(days=5),
        object_id=request.pk,
    )
    response = client.post(f"/r/{token}/", {"choice": "approve"}, HTTP_ACCEPT_LANGUAGE="en")
    page = html.unescape(response.content.decode())
    assert response.status_code == 409
    assert "Vous accompagnez déjà 1 personne" in page
    assert_french(_visible_text(page))


def test_a_waitlist_date_is_the_organizations_day_in_french(french, org, client):
    """Joined at 12:30 UTC on 14 June: already the 15th in Auckland (UTC+12)."""
    org.timezone = "Pacific/Auckland"
    org.save()
    Program.objects.filter(pk=french.pk).update(waitlist_enabled=True)
    mentee = _mentee(french)
    factories.WaitlistEntryFactory(
        program=french, mentee=mentee, joined_at=datetime(2026, 6, 14, 12, 30, tzinfo=UTC)
    )
    page = client.get(f"/p/{factories.preferences_link(mentee)}/").content.decode()
    assert "depuis le 15 juin 2026" in html.unescape(page)
    assert "14 juin" not in page


def test_a_personal_links_end_is_the_organizations_day(org, client):
    """A link ending at 03:30 UTC ends the evening before in Los Angeles."""
    org.timezone = "America/Los_Angeles"
    org.save()
    program = factories.ProgramFactory(organization=org, pairing_enabled=True)
    mentor = _mentor(program)
    ends = datetime.combine((timezone.now() + timedelta(days=10)).date(), time(3, 30), tzinfo=UTC)
    _, token = link_create(purpose=Purpose.HOME, participant=mentor, expires_at=ends)
    page = html.unescape(client.get(f"/me/{token}/").content.decode())
    local = ends.astimezone(ZoneInfo("America/Los_Angeles"))
    assert local.date() != ends.date()
    assert f"It works until {local.day} {local:%B %Y}" in page


def test_withdrawing_a_late_or_settled_request_is_refused_in_french(french, client):
    mentee, mentor = _mentee(french), _mentor(french)
    services.preferences_submit(mentee=mentee, mentor_ids=[mentor.pk], note="")
    request = MentorRequest.objects.get(mentor=mentor)
    raw = factories.preferences_link(mentee)
    MentorRequest.objects.filter(pk=request.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    page = client.post(f"/p/{raw}/withdraw/", {"request": request.pk}, follow=True)
    page = html.unescape(page.content.decode())
    assert "Le délai de cette demande est passé : elle ne peut plus être retirée." in page
    MentorRequest.objects.filter(pk=request.pk).update(
        expires_at=timezone.now() + timedelta(days=1)
    )
    services.request_approve(request_id=request.pk)
    page = client.post(f"/p/{raw}/withdraw/", {"request": request.pk}, follow=True)
    page = html.unescape(page.content.decode())
    assert re.search(r"Cette demande était déjà acceptée le \w+ \d+ \w+\.", page)
    assert_french(_visible_text(page))
