"""Knowledge articles: safe rendering, search, suggestions, drafts from the packet, similar hint,
solved-with."""
import json

import pytest

from escalation.inboxes import service as inboxes
from escalation.models import AuditEvent
from escalation.sla import articles as kb
from escalation.sla.models import Article, ArticleCase
from escalation.sla.resolution import resolve_with_note

from .factories import NOW, make_inbox, make_member
from .factories_sla import fresh, new_case, strict_sla  # noqa: F401


def write(org, member, title, body="Restart the spooler.", **kwargs):
    kwargs.setdefault("publish", True)
    return kb.save(org, member, title=title, body=body, language="en",
                   catalog_item_id=kwargs.pop("catalog_item_id", None), now=NOW, **kwargs)


# ---------------------------------------------------------------------------------------------
# Rendering


@pytest.mark.parametrize("source", [
    "<script>alert(1)</script>",
    "[click](javascript:alert(1))",
    '<a href="javascript:alert(1)">x</a>',
    '<img src="x" onerror="alert(1)">',
    "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    '<iframe src="https://evil.example"></iframe>',
    '<a href="https://ok.example" onclick="alert(1)" style="x">ok</a>',
])
def test_rendering_refuses_script_and_dangerous_links(source):
    html = str(kb.render(source)).lower()
    for bad in ("<script", "javascript:", "onerror", "onclick", "data:text", "<iframe", "style="):
        assert bad not in html


def test_rendering_keeps_markdown():
    html = str(kb.render("## Fix\n\n1. **Restart** the [spooler](https://example.test/x)\n\n"
                         "`net stop spooler`"))
    assert "<h2>Fix</h2>" in html and "<strong>Restart</strong>" in html
    assert '<a href="https://example.test/x" rel="noopener noreferrer nofollow">spooler</a>' in html
    assert "<code>net stop spooler</code>" in html


# ---------------------------------------------------------------------------------------------
# Finding and writing


def test_search_finds_published_articles_with_every_word(org, other_org, agent):
    write(org, agent, "Printer offline after update")
    write(org, agent, "Printer jams")
    write(org, agent, "Printer offline draft", publish=False)
    write(other_org, make_member(other_org), "Printer offline elsewhere")
    titles = [a.title for a in kb.search(org.id, "printer OFFLINE")]
    assert titles == ["Printer offline after update"]
    assert len(kb.search(org.id, "offline", include_drafts_of=agent.id)) == 2


def test_suggestions_rank_by_overlap(org, agent):
    write(org, agent, "VPN drops every hour")
    write(org, agent, "VPN client will not install on macOS")
    assert [a.title for a in kb.suggest(org.id, "vpn will not install")][0] == \
        "VPN client will not install on macOS"
    assert kb.suggest(org.id, "a b") == []


def test_similar_articles_share_the_catalog_item_and_words(org, agent):
    write(org, agent, "Laptop battery drains fast", catalog_item_id=7)
    write(org, agent, "Laptop battery swollen", catalog_item_id=8)
    found = kb.similar(org.id, "Battery drains fast on laptop", 7)
    assert [a.title for a in found] == ["Laptop battery drains fast"]


def test_a_draft_is_prefilled_from_the_escalation_packet(org, agent):
    from escalation.escalations.models import EscalationPacket
    owner = make_member(org, "agent")
    inbox = make_inbox(org, owners=[owner])
    case = new_case(org, agent, subject="Laptop will not boot")
    escalation = inboxes.escalate(fresh(case), inbox, agent, reason="HW", now=NOW)
    EscalationPacket.create(organisation=org, escalation=escalation, case=case.id, data_json=json.dumps({
        "subject": "Laptop will not boot", "description": "Black screen after logo",
        "troubleshooting": "Held power 30 s", "serial_number": "C02XYZ"}))
    resolve_with_note(fresh(case), agent, note="Reseated the RAM", now=NOW)
    draft = kb.draft_from_case(fresh(case))
    assert draft["title"] == "Laptop will not boot"
    for text in ("## Symptom", "Black screen after logo", "C02XYZ", "Held power 30 s",
                 "## Solution", "Reseated the RAM"):
        assert text in draft["body"]


def test_solved_with_counts_once(org, agent):
    article = write(org, agent, "Reset MFA")
    case = new_case(org, agent)
    assert kb.solved_with(fresh(case), article, agent, now=NOW)
    assert not kb.solved_with(fresh(case), article, agent, now=NOW)
    assert ArticleCase.select().where(ArticleCase.kind == "solved_with").count() == 1
    assert AuditEvent.select().where(AuditEvent.action == "sla.article_used").count() == 1


# ---------------------------------------------------------------------------------------------
# Pages


def test_article_page_renders_safely(client, login, org, agent):
    article = write(org, agent, "Danger", body="Hi <script>alert('x')</script> [a](javascript:evil())")
    login(agent)
    page = client.get(f"/sla/articles/{article.id}").get_data(as_text=True)
    assert "alert('x')" not in page and "javascript:evil" not in page


def test_search_page_and_active_search(client, login, org, agent):
    write(org, agent, "Outlook keeps asking for the password")
    login(agent)
    assert "Outlook keeps asking" in client.get("/sla/articles?q=outlook").get_data(as_text=True)
    response = client.get("/sla/articles?q=outlook password", htmx=True)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in body and 'id="article-results"' in body


def test_suggestions_endpoint(client, login, org, agent):
    write(org, agent, "Outlook keeps asking for the password")
    login(agent)
    response = client.get("/sla/articles/suggest?subject=outlook password prompt", htmx=True)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in body
    assert "Outlook keeps asking for the password" in body
    assert "Outlook" not in client.get("/sla/articles/suggest?subject=printer", htmx=True) \
        .get_data(as_text=True)


def test_write_an_article_from_a_case_with_the_similar_hint(client, login, org, agent):
    write(org, agent, "Printer offline after update")
    case = new_case(org, agent, subject="Printer offline again")
    resolve_with_note(fresh(case), agent, note="Reinstalled the driver", now=NOW)
    login(agent)
    form = client.get(f"/sla/articles/new?case={case.id}").get_data(as_text=True)
    assert "Printer offline again" in form and "Reinstalled the driver" in form
    data = {"title": "Printer offline again", "language": "en", "catalog_item": "",
            "body": "## Solution\n\nReinstall the driver", "publish": "y", "from_case": str(case.id)}
    first = client.post("/sla/articles", data=data)
    assert first.status_code == 200 and "Similar articles already exist" in first.get_data(as_text=True)
    assert Article.select().count() == 1
    response = client.post("/sla/articles", data={**data, "confirm_similar": "1"})
    assert response.status_code == 303
    article = Article.select().order_by(Article.id.desc()).first()
    assert ArticleCase.get(ArticleCase.article == article.id).kind == "source"
    assert "Article saved." in client.get(response.headers["Location"]).get_data(as_text=True)


def test_article_form_invalid_is_422(client, login, org, agent):
    login(agent)
    response = client.post("/sla/articles", htmx=True, data={"title": "Kept", "language": "en",
                                                             "body": ""})
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and 'value="Kept"' in body and "Write the article." in body


def test_solved_with_endpoint(client, login, org, agent):
    article = write(org, agent, "Printer offline fix")
    case = new_case(org, agent, subject="Printer offline")
    login(agent)
    response = client.post(f"/sla/cases/{case.id}/solved-with", data={"article": article.id},
                           htmx=True)
    assert response.status_code == 200 and "case-changed" in response.headers["HX-Trigger"]
    assert "solved with this article" in response.get_data(as_text=True)
    response = client.post(f"/sla/cases/{case.id}/solved-with", data={"article": article.id})
    assert response.status_code == 303


def test_articles_are_scoped(client, login, org, agent, outsider, other_org):
    article = write(org, agent, "Internal")
    draft = write(org, make_member(org, "agent"), "Someone's draft", publish=False)
    login(agent)
    assert client.get(f"/sla/articles/{draft.id}").status_code == 404
    assert client.get(f"/sla/articles/{draft.id}/edit").status_code == 404
    client.post("/auth/logout")
    client.refresh_csrf()
    login(outsider)
    assert client.get(f"/sla/articles/{article.id}").status_code == 404
