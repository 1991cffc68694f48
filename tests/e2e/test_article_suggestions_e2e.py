"""Knowledge articles suggested while an agent types the subject of the escalation form (issue 6):
published articles of the organisation that match the subject's words appear under it; drafts,
other organisations' articles and unrelated ones do not; the list follows the subject as it
changes, in place, and the form stays as typed."""
import pytest
from playwright.sync_api import expect

from escalation.clock import utcnow
from escalation.sla import articles as kb
from tests import factories
from tests import factories_escalations as fx
from tests.e2e.helpers import mark_document, same_document, sign_in

pytestmark = pytest.mark.e2e


def _write(org, member, title, *, publish=True):
    return kb.save(org, member, title=title, body="## Solution\n\nSee the steps.", language="en",
                   catalog_item_id=None, publish=publish, now=utcnow())


@pytest.mark.parametrize("e2e_backend", ["sqlite", "postgres"])
def test_articles_are_suggested_as_the_subject_is_typed(live_server, page, org, other_org, agent,
                                                        e2e_backend):
    with live_server.db():
        desk = fx.make_desk(org, agent)
        _write(org, agent, "Printer jams on the second page")
        _write(org, agent, "VPN drops every hour")
        _write(org, agent, "Printer toner draft", publish=False)
        stranger = factories.make_member(other_org, "agent", email="stranger@example.test")
        _write(other_org, stranger, "Printer jams elsewhere")
    sign_in(page, live_server, agent, goto=f"/escalations/form?item={desk.item.id}")
    suggestions = page.locator("#subject-suggestions")
    expect(suggestions).to_be_attached()
    expect(suggestions.locator("a")).to_have_count(0)
    mark_document(page)

    subject = page.locator("#escalation-form input[name=subject]")
    subject.press_sequentially("The printer jams", delay=30)
    links = suggestions.locator("a")
    expect(links).to_have_text(["Printer jams on the second page"])
    expect(suggestions).to_contain_text("These articles may already solve it:")
    assert same_document(page), "the suggestions were a page load, not an htmx swap"

    # The list follows the subject as it changes.
    subject.fill("")
    subject.press_sequentially("vpn keeps dropping", delay=30)
    expect(links).to_have_text(["VPN drops every hour"])
    subject.fill("")
    subject.press_sequentially("Monitor flickers", delay=30)
    expect(links).to_have_count(0)

    expect(page.locator("#escalation-form input[name=subject]")).to_have_value("Monitor flickers")

    # A suggestion opens the article.
    subject.fill("")
    subject.press_sequentially("printer", delay=30)
    expect(links).to_have_text(["Printer jams on the second page"])
    href = links.first.get_attribute("href")
    page.goto(live_server.url + href)
    expect(page.locator("h1")).to_have_text("Printer jams on the second page")
