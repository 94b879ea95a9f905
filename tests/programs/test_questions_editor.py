"""The questions editor: a program's questions and options, changed by its admins safely.

Every change is refused with words when it would break something (a key taken, a kind
that no longer fits the answers, a question a match rule reads), moves or deletes
answers only as the admin chose after seeing how many, and says first what it does to
the mentors suggested now.
"""

from functools import partial
from html import unescape

import pytest
from django.urls import reverse

from pairing_admin.lib.errors import DomainError
from programs import question_admin as svc
from programs.forms import ParticipantForm
from programs.match_weights import scheme_of
from programs.models import ActivityEvent, Answer, MatchRule, Program, Question, QuestionOption
from programs.question_admin import QuestionChange, QuestionFields
from programs.questions import answer_questions, answers_of, bump_questions_version, questions_of
from tests import factories
from tests.support.race import race

Verb = ActivityEvent.Verb


def _text(response) -> str:
    """The page as a person reads it (entities such as &#x27; turned back into characters)."""
    return unescape(response.content.decode())


def _q(program, key) -> Question:
    return Question.objects.get(program=program, key=key)


def _option(program, key, label) -> QuestionOption:
    return QuestionOption.objects.get(question__program=program, question__key=key, label=label)


def _url(name, program, *ids) -> str:
    return reverse(f"programs:{name}", args=[program.pk, *ids])


def _version(program) -> int:
    return Program.objects.get(pk=program.pk).questions_version


def _labels(person, key) -> list[str]:
    """The labels a person picked for a choice question, in option order."""
    rows = Answer.objects.filter(participant=person, question__key=key).select_related("option")
    return sorted(a.option.label for a in rows)


def _post_question(**changes) -> dict:
    data = {
        "label": "Years",
        "text": "How many years have you worked?",
        "help_text": "",
        "key": "years",
        "audience": "everyone",
        "kind": "number",
        "min_value": "0",
        "max_value": "50",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def _fields_of(question, **changes) -> QuestionFields:
    return QuestionFields.of(question).with_editable(**changes)


def _add(program, user, **changes) -> Question:
    data = QuestionFields(
        label="Years",
        text="How many years have you worked?",
        key="years",
        audience=Question.Audience.EVERYONE,
        kind=Question.Kind.NUMBER,
        min_value=0,
        max_value=50,
    )
    if changes.get("kind", Question.Kind.NUMBER) != Question.Kind.NUMBER:
        changes = {"min_value": None, "max_value": None, **changes}
    return svc.question_create(program=program, user=user, data=data.with_editable(**changes))


# --- The questions page ------------------------------------------------------------------


def test_the_page_lists_the_questions_with_their_counts_and_get_writes_nothing(
    program, org_admin_client, django_assert_num_queries
):
    factories.MentorFactory(program=program, skills=["Python", "SQL"], interests=["Chess"])
    factories.ParticipantFactory(program=program, goals=["Python"], interests=["Chess"])
    factories.ParticipantFactory(program=program, department="")
    version = _version(program)

    # session, user, membership, program, the questions with their counts, the
    # record fields filled in (Department, Location), the session's refresh (3).
    with django_assert_num_queries(9):
        response = org_admin_client.get(_url("questions", program))

    assert response.status_code == 200
    html = _text(response)
    order = [html.index(f">{label}</a>") for label in ("Skills", "Goals", "Interests")]
    assert order == sorted(order)
    rows = {q.key: q for q in svc.question_rows(program)}
    assert (rows["skills"].n_options, rows["skills"].n_answered) == (2, 1)
    assert (rows["interests"].n_options, rows["interests"].n_answered) == (1, 2)
    assert rows["department"].n_answered == 2  # the third left it blank
    assert rows["goals"].in_rule and rows["location"].in_rule
    assert _version(program) == version
    assert not ActivityEvent.objects.exists()


def test_the_page_query_count_does_not_grow_with_questions(
    program, org_admin, org_admin_client, django_assert_num_queries
):
    for n in range(5):
        _add(program, org_admin, key=f"q{n}", label=f"Q{n}")

    with django_assert_num_queries(9):
        assert org_admin_client.get(_url("questions", program)).status_code == 200


def test_the_program_nav_links_the_questions(program, org_admin_client):
    response = org_admin_client.get(_url("detail", program))

    assert _url("questions", program) in _text(response)


def test_another_organizations_admin_gets_404_everywhere(program, other_admin_client):
    skills = _q(program, "skills")
    go = QuestionOption.objects.create(question=skills, label="Go")
    for url in (
        _url("questions", program),
        _url("question_add", program),
        _url("question_edit", program, skills.pk),
        _url("question_delete", program, skills.pk),
        _url("option_remove", program, skills.pk, go.pk),
    ):
        assert other_admin_client.get(url).status_code == 404, url
    for url in (
        _url("question_move", program, skills.pk),
        _url("option_rename", program, skills.pk, go.pk),
        _url("option_remove", program, skills.pk, go.pk),
    ):
        assert other_admin_client.post(url, {"label": "x", "answers": "delete"}).status_code == 404
    assert QuestionOption.objects.filter(pk=go.pk, label="Go").exists()


def test_an_option_of_another_question_is_404(program, org_admin_client):
    go = QuestionOption.objects.create(question=_q(program, "skills"), label="Go")

    url = _url("option_remove", program, _q(program, "goals").pk, go.pk)

    assert org_admin_client.get(url).status_code == 404


# --- Adding and editing ------------------------------------------------------------------


def test_adding_a_question_puts_it_last_bumps_the_version_and_logs_it(
    program, org_admin, org_admin_client
):
    version = _version(program)

    response = org_admin_client.post(_url("question_add", program), _post_question(required="on"))

    assert response.status_code == 302
    assert response.url == _url("questions", program)
    years = _q(program, "years")
    assert [q.key for q in questions_of(Program.objects.get(pk=program.pk))][-1] == "years"
    assert (years.kind, years.required, years.min_value, years.max_value) == ("number", True, 0, 50)
    assert _version(program) == version + 1
    event = ActivityEvent.objects.get()
    assert (event.verb, event.actor) == (Verb.QUESTION_ADDED, org_admin)
    assert event.detail == "“Years” (number, asked of everyone, required)"


def test_a_new_choice_question_opens_its_page_to_add_options(program, org_admin_client):
    response = org_admin_client.post(
        _url("question_add", program),
        _post_question(key="level", label="Level", kind="single", min_value=None, max_value=None),
    )

    level = _q(program, "level")
    assert response.url == _url("question_edit", program, level.pk)
    page = _text(org_admin_client.get(response.url))
    assert "Nobody can answer this question until it has options." in page


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("Years", "lower-case letters, digits and underscores, starts with a letter"),
        ("1st", "starts with a letter"),
        ("years-worked", "lower-case letters, digits and underscores"),
        ("email", "“email” is a column of each person's record"),
        ("department", "“department” is a column of each person's record"),
        ("manager_email", "is a column of each person's record"),
        ("skills", "already has a question with the key “skills”"),
        ("x" * 41, "at most 40 characters"),
    ],
)
def test_a_key_that_cannot_name_a_question_is_refused(program, org_admin_client, key, message):
    version = _version(program)

    response = org_admin_client.post(_url("question_add", program), _post_question(key=key))

    assert response.status_code == 400
    assert message in _text(response)
    assert not Question.objects.filter(program=program, label="Years").exists()
    assert _version(program) == version


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"kind": "single", "min_value": None, "max_value": None, "max_choices": "3"},
         "Only a multiple choice takes a maximum"),
        ({"kind": "short_text", "min_value": None, "max_value": None, "open_options": "on"},
         "Only a choice question lets people add options"),
        ({"kind": "short_text", "max_value": None}, "Only a number takes a range"),
        ({"min_value": "10", "max_value": "5"}, "must not be below the lowest"),
        ({"kind": "multiple", "min_value": None, "max_value": None, "max_choices": "51"},
         "less than or equal to 50"),
        ({"label": "  "}, "This field is required"),
    ],
)  # fmt: skip
def test_fields_that_do_not_fit_the_kind_are_refused(program, org_admin_client, changes, message):
    response = org_admin_client.post(_url("question_add", program), _post_question(**changes))

    assert response.status_code == 400
    assert message in _text(response)
    assert not Question.objects.filter(program=program, key="years").exists()


def test_the_service_checks_the_fields_too(program, org_admin):
    with pytest.raises(DomainError, match="Only a number takes a lowest"):
        _add(program, org_admin, kind=Question.Kind.SHORT_TEXT, min_value=1)
    with pytest.raises(DomainError, match="is a column of each person's record"):
        _add(program, org_admin, key="bio")
    assert not Question.objects.filter(program=program, label="Years").exists()


def test_editing_saves_what_changed_and_logs_it(program, org_admin, org_admin_client):
    years = _add(program, org_admin)
    ActivityEvent.objects.all().delete()
    version = _version(program)

    response = org_admin_client.post(
        _url("question_edit", program, years.pk),
        _post_question(label="Experience", required="on", max_value="40"),
    )

    assert response.status_code == 302
    years.refresh_from_db()
    assert (years.label, years.required, years.max_value) == ("Experience", True, 40)
    assert _version(program) == version + 1
    event = ActivityEvent.objects.get()
    assert event.verb == Verb.QUESTION_EDITED
    assert event.detail == (
        "“Years”: label “Years” → “Experience”; required no → yes; highest 50 → 40"
    )


def test_saving_an_unchanged_question_writes_nothing(program, org_admin, org_admin_client):
    years = _add(program, org_admin)
    version = _version(program)

    response = org_admin_client.post(_url("question_edit", program, years.pk), _post_question())

    assert response.status_code == 302
    assert _version(program) == version
    assert ActivityEvent.objects.filter(verb=Verb.QUESTION_EDITED).count() == 0


def test_the_edit_page_shows_the_options_and_get_writes_nothing(
    program, org_admin_client, django_assert_num_queries
):
    factories.MentorFactory(program=program, skills=["Python", "SQL"])
    factories.MentorFactory(program=program, skills=["Python"])
    skills = _q(program, "skills")
    version = _version(program)

    # session, user, membership, program, question, its options with counts, session (3).
    with django_assert_num_queries(9):
        response = org_admin_client.get(_url("question_edit", program, skills.pk))

    html = _text(response)
    assert response.status_code == 200
    assert 'value="Python"' in html and 'value="SQL"' in html
    assert _version(program) == version


def test_a_new_required_question_is_asked_at_the_next_edit_and_answers_stay(
    program, org_admin, org_admin_client
):
    person = factories.ParticipantFactory(program=program, goals=["Python"])
    years = _add(program, org_admin)
    data = {
        "role": "mentee",
        "first_name": person.first_name,
        "last_name": person.last_name,
        "email": person.email,
        "capacity": "0",
        "goals": "Python",
    }

    def form():
        program.refresh_from_db()
        return ParticipantForm(data, instance=person, questions=questions_of(program))

    assert form().is_valid()
    org_admin_client.post(
        _url("question_edit", program, years.pk), _post_question(required="on", min_value="")
    )

    edit = form()
    assert not edit.is_valid()
    assert edit.errors["years"] == ["Please answer “Years”."]
    assert _labels(person, "goals") == ["Python"]


def test_the_kind_of_an_answered_question_cannot_change(program, org_admin, org_admin_client):
    colour = _add(program, org_admin, key="colour", label="Colour", kind="multiple")
    QuestionOption.objects.create(question=colour, label="Red")
    answer_questions(
        participant=factories.ParticipantFactory(program=program), raw={"colour": "Red"}
    )

    response = org_admin_client.post(
        _url("question_edit", program, colour.pk),
        _post_question(key="colour", label="Colour", kind="single", min_value=None, max_value=None),
    )

    assert response.status_code == 400
    assert "1 person answered “Colour” as a multiple choice: its kind cannot change" in _text(
        response
    )
    colour.refresh_from_db()
    assert colour.kind == "multiple"


def test_a_question_nobody_answered_changes_kind_and_sheds_its_options(program, org_admin):
    colour = _add(program, org_admin, key="colour", label="Colour", kind="single")
    QuestionOption.objects.create(question=colour, label="Red")

    saved = svc.question_update(
        program=program,
        question_id=colour.pk,
        user=org_admin,
        data=_fields_of(colour, kind=Question.Kind.SHORT_TEXT),
    )

    assert saved.changes == ["kind single choice → short text"]
    assert not QuestionOption.objects.filter(question=colour).exists()


def test_a_change_a_match_rule_could_not_read_is_refused(program, org_admin):
    interests = _q(program, "interests")  # nobody answered it; a rule overlaps it

    with pytest.raises(DomainError, match="The match rule “Interests \\(overlap of choices\\)”"):
        svc.question_update(
            program=program,
            question_id=interests.pk,
            user=org_admin,
            data=_fields_of(interests, kind=Question.Kind.NUMBER, open_options=False),
        )
    interests.refresh_from_db()
    assert interests.kind == "multiple"


def test_department_keeps_its_key_and_kind(program, org_admin, org_admin_client):
    department = _q(program, "department")

    page = _text(org_admin_client.get(_url("question_edit", program, department.pk)))
    response = org_admin_client.post(
        _url("question_edit", program, department.pk),
        {"label": "Team", "text": "Which team are you in?", "audience": "everyone", "key": "x"},
    )

    assert 'name="key"' not in page and 'name="kind"' not in page
    assert response.status_code == 302
    department.refresh_from_db()
    assert (department.label, department.key, department.kind) == (
        "Team",
        "department",
        "short_text",
    )
    with pytest.raises(DomainError, match="only its label, question, help"):
        svc.question_update(
            program=program,
            question_id=department.pk,
            user=org_admin,
            data=_fields_of(department, key="team"),
        )


# --- Asking fewer people -----------------------------------------------------------------


def test_asking_fewer_people_shows_whose_answers_go_then_removes_them_on_confirm(
    program, org_admin, org_admin_client
):
    MatchRule.objects.filter(program=program).delete()
    bump_questions_version(program)
    mentee = factories.ParticipantFactory(program=program, interests=["Chess"])
    mentor = factories.MentorFactory(program=program, interests=["Chess", "Go"])
    other = factories.MentorFactory(program=program, interests=["Go"])
    interests = _q(program, "interests")
    url = _url("question_edit", program, interests.pk)
    data = {
        "label": "Interests",
        "text": interests.text,
        "key": "interests",
        "audience": "mentee",
        "kind": "multiple",
        "open_options": "on",
    }
    version = _version(program)

    first = org_admin_client.post(url, data)

    html = _text(first)
    assert first.status_code == 200
    assert "2 people among the mentors answered “Interests”" in html
    assert 'name="confirmed_audience" value="mentee"' in html
    assert "No match rule reads this question" in html
    assert _version(program) == version
    assert _labels(mentor, "interests") == ["Chess", "Go"]

    second = org_admin_client.post(url, {**data, "confirmed_audience": "mentee"})

    assert second.status_code == 302
    assert _labels(mentee, "interests") == ["Chess"]
    assert _labels(mentor, "interests") == _labels(other, "interests") == []
    assert Question.objects.get(pk=interests.pk).audience == "mentee"
    event = ActivityEvent.objects.get(verb=Verb.QUESTION_EDITED)
    assert event.detail.endswith("answers of 2 people no longer asked removed")


def test_asking_fewer_people_is_refused_while_a_rule_reads_their_side(
    program, org_admin, org_admin_client
):
    factories.MentorFactory(program=program, interests=["Go"])
    interests = _q(program, "interests")
    data = {
        "label": "Interests",
        "text": interests.text,
        "key": "interests",
        "audience": "mentee",
        "kind": "multiple",
        "open_options": "on",
    }

    response = org_admin_client.post(_url("question_edit", program, interests.pk), data)

    assert response.status_code == 400
    page = _text(response)
    assert "The match rule “Interests (overlap of choices)” reads this question" in page
    assert "Mentors are not asked “Interests”." in page
    assert "confirmed_audience" not in page

    with pytest.raises(DomainError, match="Mentors are not asked “Interests”"):
        svc.question_update(
            program=program,
            question_id=interests.pk,
            user=org_admin,
            data=_fields_of(interests, audience=Question.Audience.MENTEES),
        )
    assert Answer.objects.filter(question=interests).count() == 1


def test_asking_more_people_needs_no_confirmation(program, org_admin, org_admin_client):
    years = _add(program, org_admin, audience=Question.Audience.MENTORS)

    response = org_admin_client.post(_url("question_edit", program, years.pk), _post_question())

    assert response.status_code == 302
    assert Question.objects.get(pk=years.pk).audience == "everyone"


# --- Order ---------------------------------------------------------------------------------


def test_moving_a_question_swaps_it_with_its_neighbour(program, org_admin, org_admin_client):
    goals = _q(program, "goals")

    response = org_admin_client.post(_url("question_move", program, goals.pk), {"direction": "up"})

    assert response.status_code == 302
    keys = [q.key for q in Question.objects.filter(program=program).order_by("position", "id")]
    assert keys == ["goals", "skills", "interests", "department", "location"]
    assert ActivityEvent.objects.get().detail == "“Goals” moved up"
    org_admin_client.post(_url("question_move", program, goals.pk), {"direction": "up"})
    org_admin_client.post(_url("question_move", program, goals.pk), {"direction": "sideways"})
    assert ActivityEvent.objects.count() == 1  # already first; no direction: nothing


def test_moving_is_post_only(program, org_admin_client):
    goals = _q(program, "goals")

    assert org_admin_client.get(_url("question_move", program, goals.pk)).status_code == 405


# --- Deleting ----------------------------------------------------------------------------


def test_deleting_says_how_many_answers_go_then_deletes_them(program, org_admin, org_admin_client):
    colour = _add(program, org_admin, key="colour", label="Colour", kind="multiple")
    red = QuestionOption.objects.create(question=colour, label="Red")
    for _ in range(2):
        person = factories.ParticipantFactory(program=program, goals=["Python"])
        Answer.objects.create(program=program, participant=person, question=colour, option=red)
    url = _url("question_delete", program, colour.pk)
    version = _version(program)

    page = _text(org_admin_client.get(url))

    assert "2 people answered it: their answers are deleted with it." in page
    assert _version(program) == version and Answer.objects.filter(question=colour).count() == 2

    response = org_admin_client.post(url)

    assert response.status_code == 302
    assert not Question.objects.filter(pk=colour.pk).exists()
    assert not QuestionOption.objects.filter(pk=red.pk).exists()
    assert Answer.objects.filter(question__key="goals").count() == 2
    assert _version(program) == version + 1
    event = ActivityEvent.objects.get(verb=Verb.QUESTION_DELETED)
    assert event.detail == "“Colour”, with the answers of 2 people"


def test_a_question_a_rule_reads_cannot_be_deleted(program, org_admin_client):
    skills = _q(program, "skills")
    url = _url("question_delete", program, skills.pk)

    page = _text(org_admin_client.get(url))
    response = org_admin_client.post(url)

    assert "The match rule “Goals ↔ Skills (overlap of choices)” reads “Skills”" in page
    assert "Delete the question" not in page
    assert response.status_code == 400
    assert "remove the rule on the Match weights page first" in _text(response)
    assert Question.objects.filter(pk=skills.pk).exists()


def test_department_cannot_be_deleted(program, org_admin):
    MatchRule.objects.filter(program=program).delete()

    with pytest.raises(DomainError, match="kept on each person's record"):
        svc.question_delete(
            program=program, question_id=_q(program, "department").pk, user=org_admin
        )


# --- Options -----------------------------------------------------------------------------


def test_adding_an_option_puts_it_last(program, org_admin, org_admin_client):
    factories.MentorFactory(program=program, skills=["Python"])
    skills = _q(program, "skills")

    response = org_admin_client.post(_url("option_add", program, skills.pk), {"label": "  Rust "})

    assert response.status_code == 302
    labels = list(
        QuestionOption.objects.filter(question=skills)
        .order_by("position", "id")
        .values_list("label", flat=True)
    )
    assert labels == ["Python", "Rust"]
    assert ActivityEvent.objects.get().detail == "“Skills”: added “Rust”"


def test_an_option_that_exists_in_another_case_is_a_form_error(program, org_admin_client):
    factories.MentorFactory(program=program, skills=["Python"])
    skills = _q(program, "skills")
    version = _version(program)

    response = org_admin_client.post(_url("option_add", program, skills.pk), {"label": "PYTHON"})

    assert response.status_code == 400
    html = _text(response)
    assert "“Skills” already has the option “Python”." in html
    assert 'value="PYTHON"' in html
    assert QuestionOption.objects.filter(question=skills).count() == 1
    assert _version(program) == version


def test_renaming_an_option_keeps_its_answers(program, org_admin, org_admin_client):
    mentor = factories.MentorFactory(program=program, skills=["Pyhton", "SQL"])
    typo = _option(program, "skills", "Pyhton")
    before = set(Answer.objects.filter(participant=mentor).values_list("pk", "option_id"))

    response = org_admin_client.post(
        _url("option_rename", program, typo.question_id, typo.pk), {"label": "Python"}
    )

    assert response.status_code == 302
    assert set(Answer.objects.filter(participant=mentor).values_list("pk", "option_id")) == before
    assert _labels(mentor, "skills") == ["Python", "SQL"]
    event = ActivityEvent.objects.get()
    assert event.detail == "“Skills”: renamed “Pyhton” → “Python”"


def test_renaming_onto_another_option_is_a_form_error(program, org_admin_client):
    factories.MentorFactory(program=program, skills=["Python", "SQL"])
    sql = _option(program, "skills", "SQL")

    response = org_admin_client.post(
        _url("option_rename", program, sql.question_id, sql.pk), {"label": "python"}
    )

    assert response.status_code == 400
    assert "“Skills” already has the option “Python”." in _text(response)
    sql.refresh_from_db()
    assert sql.label == "SQL"


def test_renaming_only_the_case_is_allowed(program, org_admin):
    factories.MentorFactory(program=program, skills=["python"])
    option = _option(program, "skills", "python")

    assert svc.option_rename(program=program, option_id=option.pk, user=org_admin, label="Python")
    option.refresh_from_db()
    assert option.label == "Python"


def test_reordering_options_closes_up_the_positions_people_added(program, org_admin_client):
    factories.MentorFactory(program=program, skills=["Python", "SQL", "Go"])
    go = _option(program, "skills", "Go")

    org_admin_client.post(_url("option_move", program, go.question_id, go.pk), {"direction": "up"})

    rows = QuestionOption.objects.filter(question_id=go.question_id).order_by("position", "id")
    assert [(o.label, o.position) for o in rows] == [("Python", 0), ("Go", 1), ("SQL", 2)]


def test_an_option_nobody_picked_is_removed_at_once(program, org_admin_client):
    skills = _q(program, "skills")
    rust = QuestionOption.objects.create(question=skills, label="Rust")
    url = _url("option_remove", program, skills.pk, rust.pk)

    assert "Nobody picked it" in _text(org_admin_client.get(url))
    response = org_admin_client.post(url)

    assert response.status_code == 302
    assert not QuestionOption.objects.filter(pk=rust.pk).exists()


def test_removing_an_option_with_answers_asks_where_they_go(program, org_admin_client):
    factories.MentorFactory(program=program, skills=["Go"])
    go = _option(program, "skills", "Go")
    url = _url("option_remove", program, go.question_id, go.pk)

    page = _text(org_admin_client.get(url))
    response = org_admin_client.post(url)

    assert "1 person picked “Go”." in page
    assert response.status_code == 400
    assert "say whether their answers move to another option or are deleted" in (_text(response))
    assert QuestionOption.objects.filter(pk=go.pk).exists()


def test_moving_answers_merges_where_a_person_picked_both(program, org_admin_client):
    only_go = factories.MentorFactory(program=program, skills=["Go"])
    both = factories.MentorFactory(program=program, skills=["Go", "Golang"])
    other = factories.MentorFactory(program=program, skills=["SQL"])
    go, golang = _option(program, "skills", "Go"), _option(program, "skills", "Golang")
    url = _url("option_remove", program, go.question_id, go.pk)
    choice = {"answers": "move", "move_to": str(golang.pk)}
    version = _version(program)

    preview = _text(org_admin_client.get(url, choice))

    assert "The answers of 2 people move to “Golang”; 1 of them had picked “Golang” too" in preview
    assert _version(program) == version
    assert Answer.objects.filter(option=go).count() == 2

    response = org_admin_client.post(url, choice)

    assert response.status_code == 302
    assert not QuestionOption.objects.filter(pk=go.pk).exists()
    assert _labels(only_go, "skills") == _labels(both, "skills") == ["Golang"]
    assert _labels(other, "skills") == ["SQL"]
    assert _version(program) == version + 1
    event = ActivityEvent.objects.get()
    assert event.detail == (
        "“Skills”: removed “Go”, the answers of 2 people moved to “Golang” (1 had picked both)"
    )


def test_deleting_an_options_answers_keeps_the_other_picks(program, org_admin_client):
    go_sql = factories.MentorFactory(program=program, skills=["Go", "SQL"])
    only_go = factories.MentorFactory(program=program, skills=["Go"])
    go = _option(program, "skills", "Go")
    url = _url("option_remove", program, go.question_id, go.pk)

    preview = _text(org_admin_client.get(url, {"answers": "delete"}))
    response = org_admin_client.post(url, {"answers": "delete"})

    assert "Remove “Go” and delete 2 answers" in preview
    assert response.status_code == 302
    assert _labels(go_sql, "skills") == ["SQL"]
    assert _labels(only_go, "skills") == []
    assert (
        ActivityEvent.objects.get().detail == "“Skills”: removed “Go” and the answers of 2 people"
    )


def test_moving_to_an_option_of_another_question_is_refused(program, org_admin):
    factories.MentorFactory(program=program, skills=["Go"])
    factories.ParticipantFactory(program=program, goals=["Go"])
    go_skill, go_goal = _option(program, "skills", "Go"), _option(program, "goals", "Go")

    with pytest.raises(DomainError, match="that one no longer exists"):
        svc.option_remove(
            program=program, option_id=go_skill.pk, user=org_admin, move_to=go_goal.pk
        )
    assert Answer.objects.filter(option=go_skill).count() == 1


# --- What a change does to the candidates --------------------------------------------------


def test_question_change_rewrites_answers_in_memory():
    change = QuestionChange(7, scheme=None, moves={1: 2, 3: None})

    assert change.answers_after("mentor", {7: (1, 2, 4), 8: 5}) == {7: (2, 4), 8: 5}
    assert change.answers_after("mentor", {7: (3,), 8: 5}) == {8: 5}
    assert change.answers_after("mentor", {8: 5}) == {8: 5}
    dropped = QuestionChange(7, scheme=None, drop_roles=frozenset({"mentor"}))
    assert dropped.answers_after("mentor", {7: "x", 8: 5}) == {8: 5}
    assert dropped.answers_after("mentee", {7: "x"}) == {7: "x"}


@pytest.fixture
def must_share_a_skill(program):
    """Goals ↔ Skills must match; nothing else counts. Three unpaired mentees, three
    mentors with room, a paired mentee and a full mentor who are not counted."""
    MatchRule.objects.filter(program=program).exclude(mentee_question__key="goals").update(weight=0)
    MatchRule.objects.filter(program=program, mentee_question__key="goals").update(weight=10)
    bump_questions_version(program)
    mentees = {
        "a": factories.ParticipantFactory(program=program, goals=["Go"]),
        "b": factories.ParticipantFactory(program=program, goals=["Python"]),
        "c": factories.ParticipantFactory(program=program, goals=["Go", "Python"]),
    }
    mentors = {
        "m1": factories.MentorFactory(program=program, skills=["Go"]),
        "m2": factories.MentorFactory(program=program, skills=["Golang"]),
        "m3": factories.MentorFactory(program=program, skills=["Python"]),
    }
    factories.MentorFactory(program=program, skills=["Go"], capacity=0)
    factories.PairingFactory(
        program=program,
        mentee=factories.ParticipantFactory(program=program, goals=["Go"]),
        mentor=factories.MentorFactory(program=program, skills=["Go"], capacity=1),
    )
    program.refresh_from_db()
    return mentees, mentors


def test_the_preview_counts_mentees_who_lose_their_candidates(program, must_share_a_skill):
    # Before: a has m1 (Go); b has m3 (Python); c has m1 and m3, the first listed best.
    # Moving the mentors' "Go" to "Golang": a has nobody; b keeps m3; c has only m3.
    go, golang = _option(program, "skills", "Go"), _option(program, "skills", "Golang")

    removal = svc.option_removal(program, go, move_to=golang, impact=True)

    assert removal.people == 3  # m1, the full mentor and the paired one
    assert removal.impact.mentees == 3
    assert removal.impact.mentors == 3
    assert (removal.impact.lose_all, removal.impact.best_changed, removal.impact.gain) == (1, 1, 0)
    assert Answer.objects.filter(option=go).count() == 3


def test_the_preview_counts_mentees_who_find_a_candidate(program, must_share_a_skill):
    # e wants Rust, which no mentor offers; the option exists, nobody picked it.
    # Moving the mentors' "Golang" (m2) to "Rust": e finds m2, the others keep theirs.
    factories.ParticipantFactory(program=program, goals=["Rust"])
    rust = QuestionOption.objects.create(question=_q(program, "skills"), label="Rust")
    golang = _option(program, "skills", "Golang")

    removal = svc.option_removal(program, golang, move_to=rust, impact=True)

    assert removal.impact.mentees == 4
    assert (removal.impact.lose_all, removal.impact.best_changed, removal.impact.gain) == (0, 0, 1)


def test_the_remove_page_shows_the_preview_numbers(program, must_share_a_skill, org_admin_client):
    go, golang = _option(program, "skills", "Go"), _option(program, "skills", "Golang")
    url = _url("option_remove", program, go.question_id, go.pk)

    html = _text(org_admin_client.get(url, {"answers": "move", "move_to": golang.pk}))

    assert "3 unpaired mentees, 3 mentors with room" in html
    assert "<strong>1</strong> mentee would lose all their candidate mentors" in html
    assert "<strong>1</strong> would get a different best match" in html


def test_the_preview_of_a_question_no_rule_reads_scores_nothing(program, org_admin):
    colour = _add(program, org_admin, key="colour", label="Colour", kind="multiple")
    red = QuestionOption.objects.create(question=colour, label="Red")
    person = factories.ParticipantFactory(program=program)
    Answer.objects.create(program=program, participant=person, question=colour, option=red)

    removal = svc.option_removal(program, red, move_to=None, impact=True)

    assert (removal.people, removal.impact, removal.read_by_a_rule) == (1, None, False)


def test_the_scheme_after_drops_the_option(program, must_share_a_skill):
    go = _option(program, "skills", "Go")
    before = scheme_of(program)

    change = svc._scheme_without_option(before, go.question, go.pk)

    skills = next(r.mentor for r in change.rules if r.mentor.key == "skills")
    assert (
        go.pk not in skills.options
        and go.pk in next(r.mentor for r in before.rules if r.mentor.key == "skills").options
    )


# --- Two admins at once --------------------------------------------------------------------


@pytest.mark.needs_postgres
@pytest.mark.django_db(transaction=True)
def test_two_admins_removing_options_at_once_lose_no_answer():
    """One moves "Go" into "Golang" while the other moves "Golang" into "Go language".
    Whoever goes second sees the first's answers: every mentor keeps a pick."""
    for _ in range(4):
        program = factories.ProgramFactory()
        user = factories.MembershipFactory(organization=program.organization).user
        picks = [["Go"], ["Golang"], ["Go", "Golang"], ["Go language"], ["Go", "Go language"]]
        mentors = [factories.MentorFactory(program=program, skills=p) for p in picks]
        go, golang, go_language = (
            _option(program, "skills", label) for label in ("Go", "Golang", "Go language")
        )

        outcomes = race(
            [
                partial(svc.option_remove, program=program, option_id=go.pk, user=user,
                        move_to=golang.pk),
                partial(svc.option_remove, program=program, option_id=golang.pk, user=user,
                        move_to=go_language.pk),
            ]
        )  # fmt: skip

        assert not [o for o in outcomes if o.startswith("crashed")], outcomes
        after = [_labels(m, "skills") for m in mentors]
        if outcomes == ["won", "won"]:  # "Go" went first: all of it ends in "Go language"
            assert after == [["Go language"]] * 5
        else:  # "Golang" went first: "Go" had nowhere to go and stayed
            assert outcomes[0].startswith("refused: Move the answers to another option")
            assert after == [
                ["Go"], ["Go language"], ["Go", "Go language"], ["Go language"],
                ["Go", "Go language"],
            ]  # fmt: skip
        assert all(after)
        assert answers_of(m.pk for m in mentors)  # still readable
