"""The Match weights page: a program's match rules, their weights, adding and removing
rules, each change previewed against the current candidates before it is saved."""

import re

import pytest
from django.urls import reverse

from pairing.rule_preview import candidates_change
from pairing_admin.lib.errors import DomainError
from programs.match_weights import (
    STALE,
    CandidatesChange,
    clean_rule,
    clean_weights,
    match_rule_add,
    match_rule_remove,
    match_weights_update,
    new_rule_spec,
    program_rules,
    rule_title,
    scheme_of,
)
from programs.models import ActivityEvent, MatchRule, Program, Question, QuestionOption
from programs.questions import answer_questions, bump_questions_version
from tests import factories

Verb = ActivityEvent.Verb
Kind = Question.Kind
Audience = Question.Audience
# The default rules, as rule_title names them, with their default weights.
GOALS = "Goals ↔ Skills (overlap of choices)"
INTERESTS = "Interests (overlap of choices)"
DEPARTMENT = "Department (same value)"
LOCATION = "Location (same value)"
DEFAULTS = {GOALS: 5, INTERESTS: 2, DEPARTMENT: 1, LOCATION: 2}


def _url(program, name: str = "match_weights") -> str:
    return reverse(f"programs:{name}", kwargs={"program_id": program.pk})


def _rules(program) -> dict[str, int]:
    """{title: weight} of the program's rules, as stored."""
    return {rule_title(r): r.weight for r in program_rules(program)}


def _ids(program) -> dict[str, int]:
    return {rule_title(r): r.pk for r in program_rules(program)}


def _version(program) -> int:
    return Program.objects.get(pk=program.pk).questions_version


def _weights_post(program, weights: dict[str, int], **extra) -> dict:
    ids = _ids(program)
    return {f"rule_{ids[title]}": str(w) for title, w in weights.items()} | extra


def _question(program, key, kind, audience=Audience.EVERYONE, options=()) -> Question:
    question = Question.objects.create(
        program=program,
        key=key,
        label=key.replace("_", " ").capitalize(),
        text=f"{key}?",
        audience=audience,
        kind=kind,
        position=20,
    )
    for n, label in enumerate(options):
        QuestionOption.objects.create(question=question, label=label, position=n)
    bump_questions_version(program)
    return question


def _add(question_mentee, question_mentor, measure, weight=5, distance="", **extra) -> dict:
    return {
        "mentee_question": str(question_mentee.pk),
        "mentor_question": str(question_mentor.pk),
        "measure": measure,
        "distance": str(distance),
        "weight": str(weight),
        **extra,
    }


def _offered(html: str, name: str) -> list[str]:
    """The labels of a select's options, the blank one left out."""
    select = re.search(f'<select name="{name}".*?</select>', html, re.S).group(0)
    return re.findall(r'<option value="\d+">([^<]*)</option>', select)


def _questions(program) -> dict[str, Question]:
    return {q.key: q for q in Question.objects.filter(program=program)}


def _one_sided(program) -> None:
    """Skills asked of mentors only and goals of mentees only (the defaults ask everyone),
    so each side of a rule has a question only it is asked."""
    Question.objects.filter(program=program, key="skills").update(audience=Audience.MENTORS)
    Question.objects.filter(program=program, key="goals").update(audience=Audience.MENTEES)


# --- The page --------------------------------------------------------------------------


def test_page_lists_the_rules_explains_the_score_and_get_writes_nothing(
    program, org_admin_client, django_assert_num_queries
):
    _one_sided(program)
    url = _url(program)
    org_admin_client.get(url)  # renews the session (once a minute)
    version = _version(program)

    # session, user, membership check, program, the rules with their questions,
    # the questions the add-a-rule form offers.
    with django_assert_num_queries(6):
        response = org_admin_client.get(url)

    assert response.status_code == 200
    html = response.content.decode()
    ids = _ids(program)
    for title, weight in DEFAULTS.items():
        assert f'name="rule_{ids[title]}" value="{weight}"' in html
        assert title in html
    assert "How many of the mentee&#x27;s picks the mentor also picked" in html
    assert "is divided by the sum of those weights" in html
    assert "must match" in html
    assert f'id="remove-rule-{ids[LOCATION]}"' in html
    # The add-a-rule form offers each side only the questions it is asked.
    assert _offered(html, "mentee_question") == ["Goals", "Interests", "Department", "Location"]
    assert _offered(html, "mentor_question") == ["Skills", "Interests", "Department", "Location"]
    assert _version(program) == version
    assert _rules(program) == DEFAULTS
    assert not ActivityEvent.objects.exists()


def test_a_program_without_rules_says_so(org, org_admin_client):
    bare = factories.ProgramFactory(organization=org, questions=False)

    response = org_admin_client.get(_url(bare))

    assert response.status_code == 200
    assert "has no match rules yet" in response.content.decode()


def test_settings_page_links_to_the_weights(program, org_admin_client):
    response = org_admin_client.get(reverse("programs:edit", kwargs={"program_id": program.pk}))

    assert _url(program) in response.content.decode()


# --- Weights: preview, then save ---------------------------------------------------------


def test_saving_weights_first_shows_the_change_and_saves_nothing(program, org_admin_client):
    version = _version(program)
    data = _weights_post(program, {**DEFAULTS, LOCATION: 10, INTERESTS: 0})

    response = org_admin_client.post(_url(program), data)

    assert response.status_code == 200
    html = response.content.decode()
    assert "Save these weights?" in html
    assert f"{INTERESTS} 2 → ignored" in html
    assert f"{LOCATION} 2 → must match" in html
    assert 'name="confirm" value="1"' in html
    assert f'name="version" value="{version}"' in html
    assert _rules(program) == DEFAULTS
    assert _version(program) == version
    assert not ActivityEvent.objects.exists()


def test_confirming_saves_the_weights_and_logs_what_changed(program, org_admin, org_admin_client):
    version = _version(program)
    data = _weights_post(
        program, {**DEFAULTS, GOALS: 7, LOCATION: 10}, confirm="1", version=str(version)
    )

    response = org_admin_client.post(_url(program), data)

    assert response.status_code == 302
    assert response.url == _url(program)
    assert _rules(program) == {**DEFAULTS, GOALS: 7, LOCATION: 10}
    assert _version(program) == version + 1
    event = ActivityEvent.objects.get()
    assert (event.verb, event.actor) == (Verb.MATCH_WEIGHTS_CHANGED, org_admin)
    assert event.detail == f"{GOALS} 5 → 7; {LOCATION} 2 → must match"
    assert "Match weights saved." in org_admin_client.get(response.url).content.decode()


def test_a_preview_older_than_the_rules_is_refused(program, org_admin, org_admin_client):
    version = _version(program)
    match_rule_remove(program=program, rule_id=_ids(program)[INTERESTS], user=org_admin)
    data = _weights_post(
        program, {GOALS: 5, DEPARTMENT: 1, LOCATION: 9}, confirm="1", version=str(version)
    )

    response = org_admin_client.post(_url(program), data)

    assert response.status_code == 200
    assert STALE in response.content.decode().replace("&#x27;", "'")
    assert _rules(program)[LOCATION] == 2
    assert ActivityEvent.objects.count() == 1  # the removal only


def test_saving_the_same_weights_logs_nothing(program, org_admin_client):
    response = org_admin_client.post(_url(program), _weights_post(program, DEFAULTS), follow=True)

    assert "Nothing changed." in response.content.decode()
    assert not ActivityEvent.objects.exists()


@pytest.mark.parametrize(
    ("title", "value", "message"),
    [
        (LOCATION, "11", "Choose a whole number from 0 (ignored) to 10 (must match)."),
        (LOCATION, "-1", "Choose a whole number from 0 (ignored) to 10 (must match)."),
        (DEPARTMENT, "two", "Choose a whole number from 0 (ignored) to 10 (must match)."),
        (DEPARTMENT, "2.5", "Choose a whole number from 0 (ignored) to 10 (must match)."),
        (GOALS, "", f"Give “{GOALS}” a weight: 0 ignores it."),
    ],
)
@pytest.mark.parametrize("confirm", ["", "1"])
def test_invalid_weight_is_explained_and_nothing_is_saved(
    program, org_admin_client, title, value, message, confirm
):
    data = _weights_post(program, DEFAULTS, confirm=confirm, version=str(_version(program)))
    data[f"rule_{_ids(program)[title]}"] = value

    response = org_admin_client.post(_url(program), data)

    assert response.status_code == 200
    html = response.content.decode()
    assert message in html
    assert "Save these weights?" not in html
    assert _rules(program) == DEFAULTS
    assert not ActivityEvent.objects.exists()


@pytest.mark.parametrize("values", [[0, 0, 0, 0], [10, 0, 10, 0], [10, 10, 10, 10]])
def test_at_least_one_rule_must_rank_mentors(program, org_admin_client, values):
    data = _weights_post(program, dict(zip(DEFAULTS, values, strict=True)))

    response = org_admin_client.post(_url(program), data)

    assert response.status_code == 200
    assert "Give at least one rule a weight from 1 to 9." in response.content.decode()
    assert _rules(program) == DEFAULTS


def test_weights_service_refuses_unknown_rules_and_bad_values(program, org_admin):
    rules = program_rules(program)
    ids = _ids(program)
    weights = {r.pk: r.weight for r in rules}
    with pytest.raises(DomainError, match="no longer exists"):
        clean_weights(rules, {**weights, 10**9: 3})
    with pytest.raises(DomainError, match=re.escape(f"“{LOCATION}” must be from 0")):
        match_weights_update(
            program=program, weights={**weights, ids[LOCATION]: 12}, user=org_admin
        )
    with pytest.raises(DomainError, match="whole number"):
        match_weights_update(
            program=program, weights={**weights, ids[LOCATION]: True}, user=org_admin
        )
    with pytest.raises(DomainError, match="changed since this preview"):
        match_weights_update(
            program=program,
            weights={**weights, ids[LOCATION]: 3},
            user=org_admin,
            version=_version(program) + 1,
        )
    assert _rules(program) == DEFAULTS
    assert not match_weights_update(program=program, weights=weights, user=org_admin)
    assert not ActivityEvent.objects.exists()


def test_each_program_keeps_its_own_rules(program, org_admin, org_admin_client):
    sibling = factories.ProgramFactory(organization=program.organization)
    data = _weights_post(program, {**DEFAULTS, LOCATION: 10}, confirm="1")
    data["version"] = str(_version(program))

    org_admin_client.post(_url(program), data)

    assert _rules(program)[LOCATION] == 10
    assert _rules(sibling) == DEFAULTS
    with pytest.raises(DomainError, match="no longer exists"):
        match_weights_update(program=sibling, weights={_ids(program)[LOCATION]: 3}, user=org_admin)


# --- Adding a rule -----------------------------------------------------------------------


def test_adding_a_rule_shows_it_first_then_adds_it_last_and_logs_it(
    program, org_admin, org_admin_client
):
    years = _question(program, "years", Kind.NUMBER)
    version = _version(program)
    data = _add(years, years, MatchRule.Measure.WITHIN, weight=4, distance=2)

    preview = org_admin_client.post(_url(program, "match_rule_add"), data)

    assert preview.status_code == 200
    html = preview.content.decode()
    assert "Add the rule “Years (within 2)”?" in html
    assert "Added rule Years (within 2), weight 4" in html
    assert f'name="version" value="{version}"' in html
    assert f'name="mentee_question" value="{years.pk}"' in html
    assert 'name="distance" value="2"' in html
    assert not MatchRule.objects.filter(mentee_question=years).exists()
    assert _version(program) == version

    response = org_admin_client.post(
        _url(program, "match_rule_add"), {**data, "confirm": "1", "version": str(version)}
    )

    assert response.status_code == 302
    assert response.url == _url(program)
    rule = MatchRule.objects.get(mentee_question=years)
    assert (rule.mentor_question, rule.measure, rule.distance, rule.weight) == (
        years,
        "within",
        2,
        4,
    )
    assert list(_rules(program)) == [*DEFAULTS, "Years (within 2)"]
    assert _version(program) == version + 1
    event = ActivityEvent.objects.get()
    assert (event.verb, event.actor) == (Verb.MATCH_WEIGHTS_CHANGED, org_admin)
    assert event.detail == "Added rule Years (within 2), weight 4"
    assert "Rule added: Years (within 2)." in org_admin_client.get(response.url).content.decode()


def test_a_distance_of_zero_is_kept_through_the_preview(program, org_admin_client):
    years = _question(program, "years", Kind.NUMBER)
    data = _add(years, years, MatchRule.Measure.WITHIN, distance=0)

    html = org_admin_client.post(_url(program, "match_rule_add"), data).content.decode()

    assert 'name="distance" value="0"' in html
    assert "Years (within 0)" in html


def _bad_rules(program) -> list[tuple[dict, str]]:
    """(form data, message) for every way a new rule can be wrong."""
    _one_sided(program)
    q = _questions(program)
    years = _question(program, "years", Kind.NUMBER)
    wanted = _question(program, "years_wanted", Kind.NUMBER, Audience.MENTEES)
    bio = _question(program, "bio", Kind.LONG_TEXT)
    level = _question(program, "level", Kind.SINGLE, options=["Junior", "Senior"])
    grade = _question(program, "grade", Kind.SINGLE, options=["A", "B"])
    m = MatchRule.Measure
    return [
        # measure against kinds
        (_add(years, years, m.OVERLAP), "“Overlap of choices” cannot compare “Years” (number"),
        (_add(q["goals"], q["skills"], m.WITHIN, distance=1), "cannot compare “Goals”"),
        (_add(q["location"], q["location"], m.ABOVE), "cannot compare “Location”"),
        (_add(years, level, m.SAME), "A number can only be compared with another number."),
        (_add(level, grade, m.ABOVE), "Levels compare within one single-choice question"),
        (_add(q["goals"], q["skills"], "nearby"), "Select a valid choice."),
        (_add(q["goals"], q["skills"], ""), "Choose how the two answers are compared."),
        # audience: each side offers only the questions it is asked
        (
            _add(q["skills"], q["skills"], m.OVERLAP),
            "Choose one of the questions mentees are asked.",
        ),
        (_add(q["goals"], q["goals"], m.OVERLAP), "Choose one of the questions mentors are asked."),
        (_add(wanted, wanted, m.SAME), "Choose one of the questions mentors are asked."),
        (_add(bio, bio, m.SAME), "Choose one of the questions mentees are asked."),
        ({**_add(q["goals"], q["skills"], m.OVERLAP), "mentee_question": ""}, "Choose the mentee"),
        # distance
        (_add(years, years, m.WITHIN), "Give a distance: how far apart the two numbers may be"),
        (_add(years, years, m.SAME, distance=3), "A distance only applies to “Numbers within"),
        (_add(years, years, m.WITHIN, distance=-1), "The distance must be 0 or more."),
        (_add(years, years, m.WITHIN, distance="x"), "The distance must be a whole number."),
        # duplicate
        (
            _add(q["goals"], q["skills"], m.OVERLAP),
            f"There is already a rule “{GOALS}”: change its weight instead.",
        ),
        # weight
        (_add(years, years, m.SAME, weight=11), "Choose a whole number from 0 (ignored) to 10"),
        (_add(years, years, m.SAME, weight=""), "Give the rule a weight: 0 ignores it."),
    ]


@pytest.mark.parametrize("case", range(19))
@pytest.mark.parametrize("confirm", ["", "1"])
def test_a_wrong_rule_is_explained_and_nothing_is_added(program, org_admin_client, case, confirm):
    cases = _bad_rules(program)
    assert len(cases) == 19
    data, message = cases[case]
    version = _version(program)
    count = MatchRule.objects.count()

    response = org_admin_client.post(
        _url(program, "match_rule_add"), {**data, "confirm": confirm, "version": str(version)}
    )

    assert response.status_code == 200
    html = response.content.decode().replace("&#x27;", "'")
    assert message in html
    assert "Add the rule" not in html
    assert MatchRule.objects.count() == count
    assert _version(program) == version
    assert not ActivityEvent.objects.exists()


def test_the_service_checks_what_the_form_cannot(program, org_admin):
    _one_sided(program)
    q = _questions(program)
    other = factories.ProgramFactory(organization=program.organization)
    theirs = _questions(other)["interests"]
    base = {"program": program, "user": org_admin, "weight": 3}
    with pytest.raises(DomainError, match="Mentees are not asked “Skills”"):
        match_rule_add(
            **base,
            mentee_question_id=q["skills"].pk,
            mentor_question_id=q["skills"].pk,
            measure="overlap",
        )
    with pytest.raises(DomainError, match="Mentors are not asked “Goals”"):
        match_rule_add(
            **base,
            mentee_question_id=q["goals"].pk,
            mentor_question_id=q["goals"].pk,
            measure="overlap",
        )
    with pytest.raises(DomainError, match="no longer exists"):
        match_rule_add(
            **base, mentee_question_id=theirs.pk, mentor_question_id=theirs.pk, measure="overlap"
        )
    with pytest.raises(DomainError, match="Choose how the two answers are compared"):
        match_rule_add(
            **base,
            mentee_question_id=q["goals"].pk,
            mentor_question_id=q["skills"].pk,
            measure="nearby",
        )
    with pytest.raises(DomainError, match="“Goals ↔ Interests \\(overlap of choices\\)” must be"):
        match_rule_add(
            **{**base, "weight": 12},
            mentee_question_id=q["goals"].pk,
            mentor_question_id=q["interests"].pk,
            measure="overlap",
        )
    with pytest.raises(DomainError, match="changed since this preview"):
        match_rule_add(
            **base,
            mentee_question_id=q["goals"].pk,
            mentor_question_id=q["interests"].pk,
            measure="overlap",
            version=_version(program) - 1,
        )
    assert _rules(program) == DEFAULTS
    assert not ActivityEvent.objects.exists()


def test_a_new_rule_keeps_some_weight_from_1_to_9(program, org_admin):
    MatchRule.objects.filter(program=program).update(weight=10)
    q = _questions(program)
    rule = {"mentee_question_id": q["goals"].pk, "mentor_question_id": q["interests"].pk}

    for weight in (0, 10):
        with pytest.raises(DomainError, match="Give at least one rule a weight from 1 to 9"):
            match_rule_add(
                program=program, user=org_admin, measure="overlap", weight=weight, **rule
            )

    added = match_rule_add(program=program, user=org_admin, measure="overlap", weight=1, **rule)
    assert added.weight == 1 and added.position == 4


# --- Removing a rule ---------------------------------------------------------------------


def test_removing_a_rule_shows_it_first_then_removes_it_and_logs_it(
    program, org_admin, org_admin_client
):
    version = _version(program)
    rule_id = _ids(program)[LOCATION]

    preview = org_admin_client.post(_url(program, "match_rule_remove"), {"rule": str(rule_id)})

    assert preview.status_code == 200
    html = preview.content.decode()
    assert f"Remove the rule “{LOCATION}”?" in html
    assert f'name="rule" value="{rule_id}"' in html
    assert _rules(program) == DEFAULTS

    response = org_admin_client.post(
        _url(program, "match_rule_remove"),
        {"rule": str(rule_id), "confirm": "1", "version": str(version)},
    )

    assert response.status_code == 302
    assert _rules(program) == {GOALS: 5, INTERESTS: 2, DEPARTMENT: 1}
    assert _version(program) == version + 1
    event = ActivityEvent.objects.get()
    assert (event.verb, event.actor, event.detail) == (
        Verb.MATCH_WEIGHTS_CHANGED,
        org_admin,
        f"Removed rule {LOCATION}, weight 2",
    )
    assert f"Rule removed: {LOCATION}." in org_admin_client.get(response.url).content.decode()


@pytest.mark.parametrize("confirm", ["", "1"])
def test_the_last_rule_weighted_1_to_9_cannot_be_removed(
    program, org_admin, org_admin_client, confirm
):
    ids = _ids(program)
    MatchRule.objects.filter(pk__in=[ids[INTERESTS], ids[LOCATION]]).update(weight=10)
    MatchRule.objects.filter(pk=ids[DEPARTMENT]).update(weight=0)
    data = {"rule": str(ids[GOALS]), "confirm": confirm, "version": str(_version(program))}

    response = org_admin_client.post(_url(program, "match_rule_remove"), data)

    assert response.status_code == 200
    assert f"“{GOALS}” is the last rule weighted from 1 to 9" in response.content.decode()
    assert len(_rules(program)) == 4
    assert not ActivityEvent.objects.exists()
    # A rule that does not rank (0 or 10) can go.
    assert match_rule_remove(program=program, rule_id=ids[DEPARTMENT], user=org_admin) == DEPARTMENT


@pytest.mark.parametrize("rule", ["", "abc", "999999999"])
def test_removing_a_rule_that_is_not_there_is_explained(program, org_admin_client, rule):
    response = org_admin_client.post(
        _url(program, "match_rule_remove"),
        {"rule": rule, "confirm": "1", "version": str(_version(program))},
    )

    assert response.status_code == 200
    assert "That match rule no longer exists: reload the page." in response.content.decode()
    assert _rules(program) == DEFAULTS


def test_another_programs_rule_cannot_be_removed_through_this_one(program, org_admin_client):
    sibling = factories.ProgramFactory(organization=program.organization)
    theirs = _ids(sibling)[LOCATION]

    response = org_admin_client.post(
        _url(program, "match_rule_remove"),
        {"rule": str(theirs), "confirm": "1", "version": str(_version(program))},
    )

    assert "no longer exists" in response.content.decode()
    assert _rules(sibling) == DEFAULTS


# --- What a change does to the current candidates ------------------------------------------


@pytest.fixture
def tiny(program):
    """Two mentors with room, three unpaired mentees, and people the preview leaves out.

    Under the default rules (goals↔skills 5, interests 2, department 1, location 2; total 10):
    Ann (goals python, Ops, Paris): Max 5/3 = 16.7, Zoe 1 + 2 = 30 -> Zoe
    Bob (goals sql, Eng, London):  Max 1 + 2 = 30, Zoe 5/3 = 16.7 -> Max
    Cat (goals knitting, HR, Berlin): 0 with both -> Max (the first by id)
    """
    years = _question(program, "years", Kind.NUMBER)
    mentor = factories.MentorFactory
    mentee = factories.ParticipantFactory
    people = {
        "max": mentor(program=program, skills=["python"], department="Eng", location="London"),
        "zoe": mentor(program=program, skills=["sql"], department="Ops", location="Paris"),
        "ann": mentee(program=program, goals=["python"], department="Ops", location="Paris"),
        "bob": mentee(program=program, goals=["sql"], department="Eng", location="London"),
        "cat": mentee(program=program, goals=["knitting"], department="HR", location="Berlin"),
    }
    for key, value in {"max": 3, "zoe": 9, "ann": 2, "bob": 5}.items():
        answer_questions(participant=people[key], raw={"years": str(value)})
    # Paired (mentee out; her mentor, now full, out too), and waiting on a request.
    factories.PairingFactory(
        program=program, mentor__capacity=1, mentor__department="HR", mentee__goals=["sql"]
    )
    factories.MentorRequestFactory(program=program, mentor=people["max"], mentee__department="HR")
    people["years"] = years
    return people


def _figures(change: CandidatesChange) -> tuple:
    return (change.mentees, change.mentors, change.different, change.lost, change.gained)


def test_new_weights_preview_counts_who_gets_a_different_best_mentor(tiny, program):
    """Goals 9, location 0 (total 12): Ann Max 9/3 = 25 vs Zoe 1 -> Max; Bob Max 1 vs Zoe 25
    -> Zoe; Cat still 0 with both -> Max. Two different, nobody loses or gains."""
    scheme = scheme_of(program)
    ids = _ids(program)

    change = candidates_change(
        program=program, before=scheme, after=scheme.with_weights({ids[GOALS]: 9, ids[LOCATION]: 0})
    )

    assert _figures(change) == (3, 2, 2, 0, 0)
    assert not change.capped


def test_a_new_must_match_rule_preview_counts_who_loses_every_candidate(tiny, program):
    """Years within 1, must match: Ann (2) keeps only Max (3), was Zoe -> different;
    Bob (5) is 2 from Max and 4 from Zoe -> loses both; Cat has no years -> loses both."""
    scheme = scheme_of(program)
    new = clean_rule(
        program=program,
        rules=program_rules(program),
        mentee_question_id=tiny["years"].pk,
        mentor_question_id=tiny["years"].pk,
        measure="within",
        distance=1,
        weight=10,
    )

    change = candidates_change(
        program=program, before=scheme, after=scheme.adding(new_rule_spec(scheme, new))
    )

    assert _figures(change) == (3, 2, 1, 2, 0)


def test_removing_a_must_match_rule_preview_counts_who_gains_one(tiny, program, org_admin):
    """Department must match: Ann (Ops) has Zoe, Bob (Eng) Max, Cat (HR) nobody. Without
    the rule (goals 5, interests 2, location 2): Ann Zoe 2 vs Max 5/3; Bob Max 2 vs Zoe
    5/3; Cat ties at 0 -> Max: she gains one, nobody else changes."""
    ids = _ids(program)
    match_weights_update(
        program=program,
        weights={**{r.pk: r.weight for r in program_rules(program)}, ids[DEPARTMENT]: 10},
        user=org_admin,
    )
    scheme = scheme_of(program)

    change = candidates_change(
        program=program, before=scheme, after=scheme.without(ids[DEPARTMENT])
    )

    assert _figures(change) == (3, 2, 0, 0, 1)


def test_the_preview_counts_only_the_first_mentees_when_there_are_many(tiny, program):
    scheme = scheme_of(program)
    ids = _ids(program)

    change = candidates_change(
        program=program,
        before=scheme,
        after=scheme.with_weights({ids[GOALS]: 9, ids[LOCATION]: 0}),
        limit=2,
    )

    # Ann and Bob, the first two by id: both change.
    assert _figures(change) == (2, 2, 2, 0, 0)
    assert change.capped and change.limit == 2


def test_many_mentors_with_room_leave_fewer_mentees_in_the_preview(tiny, program, monkeypatch):
    monkeypatch.setattr("pairing.rule_preview.PREVIEW_CELLS", 3)  # 2 mentors: 1 mentee
    scheme = scheme_of(program)
    ids = _ids(program)

    change = candidates_change(
        program=program, before=scheme, after=scheme.with_weights({ids[GOALS]: 9})
    )

    assert (change.mentees, change.mentors, change.capped, change.limit) == (1, 2, True, 1)


def test_the_page_shows_the_preview_figures_and_writes_nothing(
    tiny, program, org_admin_client, django_assert_num_queries, monkeypatch
):
    data = _weights_post(program, {**DEFAULTS, GOALS: 9, LOCATION: 0})
    version = _version(program)
    org_admin_client.post(_url(program), data)  # renews the session; reads the scheme

    # session, user, membership check, program, rules; unpaired mentees and their
    # answers, mentors with room and theirs; the add-a-rule form's questions.
    with django_assert_num_queries(10):
        response = org_admin_client.post(_url(program), data)

    html = response.content.decode()
    assert "among the 3 unpaired mentees (no pairing, no request waiting)" in html
    assert "the 2 mentors with room now" in html
    assert "<strong>2</strong> would get a different best mentor" in html
    assert "<strong>0</strong> would lose every candidate" in html
    assert "<strong>0</strong> would gain a candidate" in html
    assert "the first" not in html
    assert _version(program) == version
    assert _rules(program) == DEFAULTS
    assert not ActivityEvent.objects.exists()

    monkeypatch.setattr("pairing.rule_preview.PREVIEW_MENTEES", 2)
    html = org_admin_client.post(_url(program), data).content.decode()
    assert "among the 2 unpaired mentees (no pairing, no request waiting): the first 2 only" in html


def test_the_remove_preview_on_the_page(tiny, program, org_admin_client):
    rule_id = _ids(program)[GOALS]

    html = org_admin_client.post(
        _url(program, "match_rule_remove"), {"rule": str(rule_id)}
    ).content.decode()

    # Without goals (interests 2, department 1, location 2): Ann Zoe 3/5 vs Max 0 -> Zoe;
    # Bob Max 3/5 -> Max; Cat 0 -> Max. Nothing changes.
    assert "<strong>0</strong> would get a different best mentor" in html
    assert _ids(program)[GOALS] == rule_id


def test_a_program_with_nobody_unpaired_says_so(program, org_admin_client):
    data = _weights_post(program, {**DEFAULTS, LOCATION: 10})

    html = org_admin_client.post(_url(program), data).content.decode()

    assert "No mentee is unpaired and free right now" in html


# --- Who may ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["match_weights", "match_rule_add", "match_rule_remove"])
def test_admin_of_another_organization_gets_404_and_changes_nothing(
    program, other_admin_client, name
):
    ids = _ids(program)
    data = {
        **_weights_post(program, {**DEFAULTS, LOCATION: 10}),
        "rule": str(ids[LOCATION]),
        "confirm": "1",
        "version": str(_version(program)),
    }

    for method in ("get", "post", "put"):
        response = getattr(other_admin_client, method)(_url(program, name), data)
        assert response.status_code == 404, method

    assert _rules(program) == DEFAULTS
    assert not ActivityEvent.objects.exists()


@pytest.mark.parametrize("name", ["match_weights", "match_rule_add", "match_rule_remove"])
def test_anonymous_visitor_is_sent_to_login(program, anon_client, name):
    response = anon_client.post(_url(program, name), {"rule": str(_ids(program)[LOCATION])})

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
    assert _rules(program) == DEFAULTS


def test_other_methods_are_refused(program, org_admin_client):
    assert org_admin_client.put(_url(program)).status_code == 405
    assert org_admin_client.delete(_url(program)).status_code == 405
    for name in ("match_rule_add", "match_rule_remove"):
        assert org_admin_client.get(_url(program, name)).status_code == 405
    assert _rules(program) == DEFAULTS
