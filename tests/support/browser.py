"""Acting in Chromium as a person would: log in, tab, and check the page fits its screen.

The audited `page` / `phone_page` fixtures are in tests/e2e/conftest.py.
"""

from playwright.sync_api import Page

PASSWORD = "correct horse battery staple"  # what tests.factories.UserFactory sets
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


def login(page: Page, live_server, user, password: str = PASSWORD) -> None:
    """Log in through the real login form and land on the program list."""
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill(user.get_username())
    page.get_by_label("Password").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()
    if "/login/" in page.url:
        errors = page.locator(".error-summary, .error").all_inner_texts()
        raise AssertionError(f"login as {user.get_username()} failed: {errors}")


def tab_to(page: Page, locator, max_presses: int = 30) -> None:
    """Press Tab until `locator` has the focus, as a keyboard user would."""
    for _ in range(max_presses):
        page.keyboard.press("Tab")
        if locator.evaluate("el => el === document.activeElement"):
            return
    raise AssertionError(f"{locator} not reached with {max_presses} presses of Tab")


def assert_no_horizontal_scroll(page: Page) -> None:
    """The page fits its viewport's width; names the elements that stick out.

    Measured once the page has loaded and no axe run is going (axe scrolls
    and measures elements while it checks them, which can widen the page for
    a moment).
    """
    page.wait_for_load_state()
    overflow = page.evaluate(
        """async () => {
          if (window.__e2eAxeIdle) await window.__e2eAxeIdle();
          const width = document.documentElement.clientWidth;
          if (document.documentElement.scrollWidth <= width) return null;
          const culprits = [...document.querySelectorAll("body *")]
            .filter((el) => el.getBoundingClientRect().right > width + 1)
            .filter((el) => !el.closest(".table-scroll") || el.matches(".table-scroll"))
            .slice(0, 8)
            .map((el) => `${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}` +
                         `${el.className ? "." + String(el.className).split(" ").join(".") : ""}` +
                         ` (right edge ${Math.round(el.getBoundingClientRect().right)}px)`);
          return {scrollWidth: document.documentElement.scrollWidth, width, culprits};
        }"""
    )
    assert overflow is None, (
        f"{page.url} scrolls sideways: {overflow['scrollWidth']}px wide in a "
        f"{overflow['width']}px viewport; sticking out: {', '.join(overflow['culprits'])}"
    )
