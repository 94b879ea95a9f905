"""The admin pages fit a 390 px phone screen without sideways scrolling.

Wide tables scroll inside their own box (.table-scroll), which WCAG's reflow
criterion allows for data tables; the page itself must not.
"""

import pytest

from tests import factories
from tests.support.browser import assert_no_horizontal_scroll, login


@pytest.fixture
def admin():
    return factories.MembershipFactory(organization__name="Northwind Mentoring").user


def test_program_list_and_participants_fit_a_phone(phone_page, live_server, admin):
    program = factories.ProgramFactory(
        organization=admin.memberships.get().organization,
        name="A cohort with a rather long name to wrap on small screens",
    )
    factories.ParticipantFactory(
        program=program, email="someone.with.a.very.long.address@engineering.example.org"
    )
    factories.MentorFactory(program=program)

    login(phone_page, live_server, admin)
    assert_no_horizontal_scroll(phone_page)

    phone_page.get_by_role("link", name=program.name).click()
    phone_page.get_by_role("link", name="Participants").click()
    phone_page.get_by_role("table").wait_for()
    assert_no_horizontal_scroll(phone_page)

    # The htmx filter swaps the results in place; the final audit checks the swap.
    phone_page.get_by_label("Role").select_option(label="Mentors")
    phone_page.get_by_text("1 participant", exact=True).wait_for()
    assert_no_horizontal_scroll(phone_page)
