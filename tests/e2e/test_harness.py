"""The browser harness catches what it promises to catch.

Without these, a broken audit (axe not injected, the load hook never firing,
a listener on the wrong object) would pass every browser test silently.
Pages here are served by a Playwright route, not by Django, so no view has
to exist just to be broken.
"""

from tests.support.browser import audit_for, run_axe

FIXTURE_ORIGIN = "http://harness.invalid"


def _serve(page, html: str, *, headers: dict | None = None) -> None:
    page.route(
        f"{FIXTURE_ORIGIN}/**",
        lambda route: route.fulfill(body=html, content_type="text/html", headers=headers or {}),
    )


def test_axe_reports_an_image_without_alt_text(page):
    page.set_content(
        '<!doctype html><html lang="en"><title>t</title><main><img src="x.png"></main>'
    )

    violations = run_axe(page)

    assert {"id": "image-alt", "impact": "critical"}.items() <= violations[0].items()
    assert [v["id"] for v in violations] == ["image-alt"]
    audit = audit_for(page)
    assert [v["id"] for v in audit.serious_violations()] == ["image-alt"]
    assert "axe image-alt [critical]" in audit.problems()[0]
    audit.clear()


def test_axe_runs_by_itself_after_a_page_load(page):
    _serve(page, '<!doctype html><html lang="en"><title>t</title><main><img src="/x.png"></main>')
    audit = audit_for(page)

    page.goto(f"{FIXTURE_ORIGIN}/page")
    page.evaluate("window.__e2eAxeOnLoad")  # the run the load event started

    assert audit.axe_reported == {f"{FIXTURE_ORIGIN}/page": 1}
    assert [(v["url"], v["id"]) for v in audit.serious_violations()] == [
        (f"{FIXTURE_ORIGIN}/page", "image-alt")
    ]
    audit.clear()
    page.goto("about:blank")  # or the final check at teardown finds it again


def test_navigating_away_at_once_still_checks_the_page_left(page, live_server):
    login_url = f"{live_server.url}/login/"
    page.context.add_init_script("window.__e2eAxeTestDelayMs = 1000")  # a slow axe run
    audit = audit_for(page)

    page.goto(login_url)
    page.goto(f"{login_url}?again")  # long before the first page's run can finish

    assert audit.axe_reported[login_url] == 1
    page.evaluate("window.__e2eAxeOnLoad")
    assert audit.axe_reported == {login_url: 1, f"{login_url}?again": 1}
    assert audit.unchecked_pages() == []


def test_a_blocked_inline_script_and_an_uncaught_error_are_reported(page):
    _serve(
        page,
        '<!doctype html><html lang="en"><title>t</title><main><h1>Hi</h1>'
        "<script>window.inlineRan = true</script></main>",
        headers={"Content-Security-Policy": "script-src 'self'"},
    )
    page.goto(f"{FIXTURE_ORIGIN}/csp")
    page.evaluate("setTimeout(() => { throw new Error('boom from the page') })")
    page.wait_for_timeout(100)

    audit = audit_for(page)
    assert page.evaluate("window.inlineRan === undefined")
    assert any("script-src" in message for message in audit.csp_violations)
    assert any("boom from the page" in message for message in audit.js_errors)
    audit.csp_violations.clear()
    audit.js_errors.clear()


def test_a_missing_stylesheet_is_reported(page, live_server):
    _serve(
        page,
        '<!doctype html><html lang="en"><title>t</title>'
        f'<link rel="stylesheet" href="{live_server.url}/static/css/missing.css"><main>x</main>',
    )
    page.goto(f"{FIXTURE_ORIGIN}/assets")

    audit = audit_for(page)
    # Chromium reports it blocked (cross-origin 404) rather than as a 404 response.
    assert len(audit.failed_assets) == 1
    assert audit.failed_assets[0].endswith(f"{live_server.url}/static/css/missing.css")
    audit.failed_assets.clear()
