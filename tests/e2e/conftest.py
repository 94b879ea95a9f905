"""The browser harness: real Chromium against pytest-django's live server.

Every page a test gets from `page`, `phone_page` or `new_page(...)` is
audited, and the test fails at teardown when the audit found anything:

- axe-core (WCAG 2.0/2.1 A and AA, WCAG 2.2 AA) runs after every page load;
  a navigation away waits until that run has reported, and axe runs once more
  on whatever the page shows at teardown (which covers htmx swaps). A
  "serious" or "critical" violation fails the test, and so does a page whose
  run never finished.
- A Content Security Policy violation, an uncaught JavaScript error, or a
  script, stylesheet, image or font that failed to load fails the test.

Tests that expect a problem (the harness's own tests) read and clear it with
`audit_for(page)`; `run_axe(page)` checks the page as it is now.

Usage (relative URLs go to the live server):

    from tests.support.browser import login

    def test_something(page, live_server, org_admin):
        login(page, live_server, org_admin)       # the real login form
        page.goto("/programs/")
        page.get_by_role("link", name="New program").click()

Helpers in tests/support/browser.py: `login`, `tab_to` (keyboard navigation),
`assert_no_horizontal_scroll` (for `phone_page`); here: `run_axe`, `audit_for`.

Every test in this folder is marked `needs_browser` (skipped without
Chromium, an error under TEST_REQUIRE_SERVICES) and gets a transactional
database, because the live server runs in another thread.
"""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.support import services
from tests.support.browser import (
    AUDITS,
    CHROMIUM_ARGS,
    DESKTOP,
    PHONE,
    Audit,
    audited_context,
    final_check,
)

E2E_DIR = Path(__file__).parent


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    # Playwright's sync API keeps an asyncio loop in this thread; Django's ORM
    # would take the test's own queries for async code without this.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=services.CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser, live_server) -> Iterator:
    """Factory for audited pages: `new_page(viewport=..., is_mobile=...)`."""
    opened: list[tuple[BrowserContext, Page, Audit]] = []

    def make(**options) -> Page:
        context, audit = audited_context(browser, base_url=live_server.url, **options)
        page = context.new_page()
        opened.append((context, page, audit))
        return page

    yield make

    problems = []
    try:
        for _, page, audit in opened:
            final_check(page, audit)
            problems += audit.problems()
    finally:
        for context, _, _ in opened:
            AUDITS.pop(context, None)
            context.close()
    if problems:
        pytest.fail("The browser audit found problems:\n  " + "\n  ".join(problems), pytrace=False)


@pytest.fixture
def page(new_page) -> Page:
    """A desktop page (1280x800), audited; relative URLs go to the live server."""
    return new_page(**DESKTOP)


@pytest.fixture
def phone_page(new_page) -> Page:
    """A phone-sized touch page (390x844), audited."""
    return new_page(**PHONE)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    # tryfirst: the root conftest turns needs_browser into a skip or an error.
    for item in items:
        if E2E_DIR in Path(item.path).parents:
            item.add_marker(pytest.mark.needs_browser)
            item.add_marker(pytest.mark.django_db(transaction=True))
