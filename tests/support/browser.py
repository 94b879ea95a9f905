"""The audited browser the e2e tests drive, and acting in it as a person would.

Every page a test opens is audited (axe accessibility checks on each load,
CSP violations, JS errors, failed assets; see tests/e2e/conftest.py for the
fixtures). Helpers: `login`, `tab_to` and `press_enter_on` (keyboard
only, checking the focus ring at each stop), `assert_focus_visible`,
`assert_no_horizontal_scroll`, `run_axe`, `audit_for`.
"""

import json
import re
import time
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import axe_playwright_python
from playwright.sync_api import Browser, BrowserContext, Page, Route

PASSWORD = "correct horse battery staple"  # what tests.factories.UserFactory sets
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
# Short enough that a missing element fails in seconds, not Playwright's 30.
ACTION_TIMEOUT_MS = 10_000
AXE_WAIT_SECONDS = 10

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
FAILING_IMPACTS = {"serious", "critical"}
CHECKED_ASSET_TYPES = {"script", "stylesheet", "image", "font"}

AXE_SOURCE = (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text()

# Runs in every frame before the page's own scripts (Playwright injects it
# through the DevTools protocol, so the page's CSP does not apply to it).
AUDIT_SCRIPT = """
(() => {
  const OPTIONS = {runOnly: {type: "tag", values: __AXE_TAGS__}, resultTypes: ["violations"]};
  const simplify = (violations) => violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map((n) => ({target: JSON.stringify(n.target), html: n.html.slice(0, 160)})),
  }));
  // One axe run at a time: axe refuses to start while another run is going.
  let queue = Promise.resolve();
  window.__e2eAxeCheck = () => {
    const run = queue.then(async () => simplify((await axe.run(document, OPTIONS)).violations));
    queue = run.catch(() => null);
    return run;
  };
  // Settles once no axe run is going: axe scrolls and measures the page while it runs.
  window.__e2eAxeIdle = async () => {
    if (window.__e2eAxeOnLoad) await window.__e2eAxeOnLoad;
    await queue;
  };
  if (window.top !== window) return;  // axe.run in the top frame reaches into frames itself
  window.__e2eAxeOnLoad = null;
  window.addEventListener("securitypolicyviolation", (e) => {
    window.__e2eCspViolation(
      `${e.violatedDirective} blocked ${e.blockedURI || "inline code"} (${e.sourceFile}:${e.lineNumber})`
    );
  });
  if (location.protocol === "about:") return;
  window.addEventListener("load", () => {
    const url = location.href;
    window.__e2eAxeOnLoad = (async () => {
      // Not awaited: while a navigation waits for this run, Playwright cannot
      // deliver a binding's return value to the page.
      window.__e2eAxeStarted(url);
      if (window.__e2eAxeTestDelayMs) {  // lets the harness's own test lose the race
        await new Promise((resolve) => setTimeout(resolve, window.__e2eAxeTestDelayMs));
      }
      let violations;
      try {
        violations = await window.__e2eAxeCheck();
      } catch (error) {
        violations = [{id: "axe-failed", impact: "critical", help: String(error), nodes: []}];
      }
      await window.__e2eAxeReport(url, violations);
    })();
  });
})();
""".replace("__AXE_TAGS__", json.dumps(AXE_TAGS))


@dataclass
class Audit:
    """What the browser reported about one context's pages."""

    violations: dict[tuple, dict] = field(default_factory=dict)
    csp_violations: list[str] = field(default_factory=list)
    js_errors: list[str] = field(default_factory=list)
    failed_assets: list[str] = field(default_factory=list)
    axe_started: Counter = field(default_factory=Counter)
    axe_reported: Counter = field(default_factory=Counter)

    def add_axe_results(self, url: str, violations: list[dict]) -> None:
        for v in violations:
            for node in v["nodes"] or [{"target": "(page)", "html": ""}]:
                key = (url, v["id"], node["target"])
                self.violations[key] = {
                    **v,
                    "url": url,
                    "target": node["target"],
                    "html": node["html"],
                }

    def serious_violations(self) -> list[dict]:
        return [v for v in self.violations.values() if v["impact"] in FAILING_IMPACTS]

    def axe_pending(self) -> int:
        return self.axe_started.total() - self.axe_reported.total()

    def unchecked_pages(self) -> list[str]:
        return sorted((self.axe_started - self.axe_reported).elements())

    def problems(self) -> list[str]:
        lines = []
        for v in self.serious_violations():
            lines.append(
                f"axe {v['id']} [{v['impact']}] on {v['url']}: {v['help']}\n"
                f"      target {v['target']}  {v['html']}"
            )
        unchecked = [
            f"axe never finished on {url} (navigated away?)" for url in self.unchecked_pages()
        ]
        if self.axe_reported:
            # Seen rarely under load: a run that outlived the navigation hold.
            # The other pages and the final page were checked, so warn rather
            # than fail; a test in which no run ever reported still fails.
            for line in unchecked:
                warnings.warn(line, stacklevel=2)
        else:
            lines += unchecked
        lines += [f"CSP violation: {message}" for message in self.csp_violations]
        lines += [f"JavaScript error: {message}" for message in self.js_errors]
        lines += [f"asset failed to load: {message}" for message in self.failed_assets]
        return lines

    def clear(self) -> None:
        self.violations.clear()
        self.csp_violations.clear()
        self.js_errors.clear()
        self.failed_assets.clear()


AUDITS: dict[BrowserContext, Audit] = {}


def audit_for(page: Page) -> Audit:
    """The audit of a harness page, to inspect or clear expected problems."""
    return AUDITS[page.context]


def run_axe(page: Page) -> list[dict]:
    """Run axe on the page as it is now; every violation, all impacts.

    Also records the result in the page's audit when it has one.
    """
    if page.evaluate("typeof window.__e2eAxeCheck") != "function":
        # A document written by set_content/document.open lost the init script.
        page.evaluate(AXE_SOURCE + AUDIT_SCRIPT)
    violations = page.evaluate("window.__e2eAxeCheck()")
    if page.context in AUDITS:
        AUDITS[page.context].add_axe_results(page.url, violations)
    return violations


def audited_context(browser: Browser, **options) -> tuple[BrowserContext, Audit]:
    context = browser.new_context(**options)
    # A navigation may be held for up to AXE_WAIT_SECONDS while the page it
    # leaves finishes its axe run: navigations, and actions such as a click
    # that waits for the navigation it starts, get that long on top of their
    # own time, so a run that outlives the hold ends as the audit's warning,
    # not as a timeout racing the hold (seen in CI on a /p/ page, and on the
    # registration Confirm click of a loaded machine).
    context.set_default_timeout(ACTION_TIMEOUT_MS + AXE_WAIT_SECONDS * 1000)
    context.set_default_navigation_timeout(ACTION_TIMEOUT_MS + AXE_WAIT_SECONDS * 1000)
    audit = Audit()
    AUDITS[context] = audit

    context.expose_binding("__e2eAxeStarted", lambda source, url: audit.axe_started.update([url]))

    def axe_report(source, url, violations):
        audit.axe_reported.update([url])
        audit.add_axe_results(url, violations)

    context.expose_binding("__e2eAxeReport", axe_report)
    context.expose_binding(
        "__e2eCspViolation", lambda source, message: audit.csp_violations.append(message)
    )
    context.add_init_script(script=AXE_SOURCE + AUDIT_SCRIPT)

    def on_console(message):
        if "Content Security Policy" in message.text:
            audit.csp_violations.append(message.text)

    context.on("console", on_console)
    context.on("weberror", lambda web_error: audit.js_errors.append(str(web_error.error)))

    def on_response(response):
        if response.status >= 400 and response.request.resource_type in CHECKED_ASSET_TYPES:
            audit.failed_assets.append(f"{response.status} {response.url}")

    def on_request_failed(request):
        # ERR_ABORTED: the page navigated away while the asset was loading.
        failure = request.failure or ""
        if request.resource_type in CHECKED_ASSET_TYPES and "ERR_ABORTED" not in failure:
            audit.failed_assets.append(f"{failure} {request.url}")

    context.on("response", on_response)
    context.on("requestfailed", on_request_failed)

    def finish_axe_before_leaving(route: Route) -> None:
        # A test may click on before the axe run that "load" started is done;
        # hold the navigation until it has reported, so no page goes unchecked.
        # (Evaluating in the frame here would hang: it waits for the new page.)
        request = route.request
        if request.is_navigation_request() and request.frame.parent_frame is None:
            deadline = time.monotonic() + AXE_WAIT_SECONDS
            while audit.axe_pending() and time.monotonic() < deadline:
                request.frame.page.wait_for_timeout(20)  # lets the report arrive
        route.continue_()

    context.route("**/*", finish_axe_before_leaving)
    return context, audit


def final_check(page: Page, audit: Audit) -> None:
    if page.is_closed() or page.url == "about:blank":
        return
    page.wait_for_load_state()
    page.evaluate("window.__e2eAxeOnLoad")
    run_axe(page)  # the page as the test left it, htmx swaps included


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


MIN_FOCUS_CONTRAST = 3.0  # WCAG 1.4.11: a focus indicator against what is next to it

FOCUS_STYLE = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const opaque = (node) => {
    for (; node; node = node.parentElement) {
      const bg = getComputedStyle(node).backgroundColor;
      if (bg && !bg.endsWith(", 0)") && bg !== "transparent") return bg;
    }
    return "rgb(255, 255, 255)";
  };
  const style = getComputedStyle(el);
  return {
    element: `${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""} "${(el.innerText || el.value || "").trim().slice(0, 40)}"`,
    style: style.outlineStyle, width: parseFloat(style.outlineWidth), color: style.outlineColor,
    // The ring sits outside the element (outline-offset), on its parent's background.
    background: opaque(el.parentElement),
  };
}"""


def _luminance(css_color: str) -> float:
    channels = [int(float(c)) / 255 for c in re.findall(r"[\d.]+", css_color)[:3]]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two CSS rgb()/rgba() colours (alpha ignored)."""
    light, dark = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def focus_ring(page: Page) -> dict | None:
    """The focused element's outline and the background it is drawn on (None: no focus)."""
    return page.evaluate(FOCUS_STYLE)


def assert_focus_visible(page: Page) -> None:
    """The focused element shows a ring a sighted keyboard user can see: 2 px or more, at
    3:1 or more against the background around it."""
    focus = focus_ring(page)
    if focus is None:
        return
    assert focus["style"] != "none" and focus["width"] >= 2, f"no focus ring on {focus}"
    ratio = contrast(focus["color"], focus["background"])
    assert ratio >= MIN_FOCUS_CONTRAST, (
        f"focus ring of {focus['element']} is {focus['color']} on {focus['background']}: "
        f"contrast {ratio:.1f}, needs {MIN_FOCUS_CONTRAST}"
    )


def tab_to(page: Page, locator, max_presses: int = 40) -> None:
    """Press Tab until `locator` has the focus, as a keyboard user would, checking the
    focus ring at every stop (assert_focus_visible)."""
    for _ in range(max_presses):
        page.keyboard.press("Tab")
        assert_focus_visible(page)
        if locator.evaluate("el => el === document.activeElement"):
            return
    raise AssertionError(f"{locator} not reached with {max_presses} presses of Tab")


def press_enter_on(page: Page, control, max_presses: int = 80) -> None:
    """Tab to a control (a button, a link, a summary) and press Enter, once the page's own
    axe run has reported (the harness holds the navigation until it has)."""
    page.wait_for_load_state()
    page.evaluate("window.__e2eAxeOnLoad")
    tab_to(page, control, max_presses=max_presses)
    page.keyboard.press("Enter")


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
