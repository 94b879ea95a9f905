"""The focus ring shows on admin pages too: 3:1 or more against the page around it (WCAG
1.4.11), as on the participant pages. The yellow ring it replaced was 1.5:1 on the grey."""

from tests import factories
from tests.support.browser import MIN_FOCUS_CONTRAST, contrast, focus_ring, login, tab_to


def test_a_focused_link_on_an_admin_page_shows_a_ring_at_3_to_1(page, live_server):
    program = factories.ProgramFactory(name="Spring mentoring")
    admin = factories.MembershipFactory(organization=program.organization).user
    login(page, live_server, admin)

    new_program = page.get_by_role("link", name="New program")
    tab_to(page, new_program)  # checks the ring at each stop on the way: header, nav, Log out
    ring = focus_ring(page)
    assert ring["background"] == "rgb(246, 248, 250)"  # the page's grey, where yellow failed
    assert contrast(ring["color"], ring["background"]) >= MIN_FOCUS_CONTRAST

    tab_to(page, page.get_by_role("link", name="Spring mentoring"))  # in the table's white
    ring = focus_ring(page)
    assert contrast(ring["color"], ring["background"]) >= MIN_FOCUS_CONTRAST
