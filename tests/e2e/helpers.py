"""Small actions shared by the end-to-end tests. Each waits on a real condition, never a timer."""
import re

from playwright.sync_api import Page, expect

from tests import factories


def email_of(server, who) -> str:
    """``who`` is a Member, a User or an email address."""
    if isinstance(who, str):
        return who
    with server.db():
        user = getattr(who, "user", who)
        return user.email


def sign_in(page: Page, server, who, password: str = factories.PASSWORD, *, goto: str = "/") -> Page:
    """Sign in in the page's browser context (the session cookie is the context's) by posting the
    sign-in form's fields with its CSRF token, then open ``goto`` (the landing page). Fast and
    independent of the sign-in page's markup; ``sign_in_with_form`` drives the real form."""
    request = page.context.request
    login_page = request.get(server.url + "/auth/login")
    assert login_page.ok, f"GET /auth/login answered {login_page.status}"
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', login_page.text()).group(1)
    response = request.post(server.url + "/auth/login", max_redirects=0,
                            form={"csrf_token": token, "email": email_of(server, who),
                                  "password": password, "next": ""})
    assert response.status == 303, f"sign-in answered {response.status}: {response.text()[:300]}"
    if goto is not None:
        page.goto(server.url + goto)
        expect(page.locator("form[action$='/auth/logout']")).to_be_attached()
    return page


def sign_in_with_form(page: Page, server, who, password: str = factories.PASSWORD) -> Page:
    """Sign in through the real sign-in form, as a person would, and wait until the app has left
    the sign-in page for a signed-in one."""
    page.goto(server.url + "/auth/login")
    form = page.locator("#login-form")
    form.locator("input[name=email]").fill(email_of(server, who))
    form.locator("input[name=password]").fill(password)
    form.locator("button[type=submit]").click()
    expect(page).not_to_have_url(re.compile(r"/auth/login"))
    expect(page.locator("form[action$='/auth/logout']")).to_have_count(1)
    return page


def sign_out(page: Page) -> Page:
    page.locator("form[action$='/auth/logout'] button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/auth/login"))
    return page


def csrf_post(page: Page, path: str, data: dict | None = None, *, htmx: bool = False):
    """POST from the page's browser context (its cookies) with the page's CSRF token, as a form
    would. Returns Playwright's APIResponse (redirects are not followed)."""
    token = page.locator("meta[name=csrf-token]").get_attribute("content")
    headers = {"X-CSRFToken": token}
    if htmx:
        headers["HX-Request"] = "true"
    base = re.match(r"https?://[^/]+", page.url).group(0)
    return page.context.request.post(base + path, form=data or {}, headers=headers, max_redirects=0)


def mark_document(page: Page) -> None:
    """Tag the current document, so ``same_document(page)`` can tell an in-place htmx swap from a
    full page load (which starts a new document without the tag)."""
    page.evaluate("window.__eskaleraE2eMark = true")


def same_document(page: Page) -> bool:
    return page.evaluate("window.__eskaleraE2eMark === true")


_SWEDISH = {}


def sv(msgid: str) -> str:
    """The Swedish translation of ``msgid`` as the server has it (the compiled catalog the test
    session built), failing the test when there is none: a test can check that a page shows
    Swedish without copying every area's wording."""
    if not _SWEDISH:
        from babel.support import Translations
        from escalation.config import ROOT
        catalog = Translations.load(str(ROOT / "translations"), ["sv"])
        _SWEDISH.update(catalog._catalog)  # gettext's table of the .mo: {msgid: msgstr}
    if not _SWEDISH.get(msgid):
        import pytest
        pytest.fail(f"the Swedish catalog has no translation of {msgid!r}")
    return _SWEDISH[msgid]
