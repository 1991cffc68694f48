"""Knowledge articles: Markdown rendered safely (markdown, then nh3), searchable, written from a
resolved case's escalation packet, linked to the cases they came from or solved."""
import re

import markdown as md
import nh3
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from peewee import OP, Expression, IntegrityError

from .. import audit, sqlcache
from ..db import database
from ..errors import Invalid
from ..models import LOCALES, Case
from . import holding
from .models import Article, ArticleCase

ALLOWED_TAGS = {"a", "abbr", "blockquote", "br", "code", "dd", "del", "dl", "dt", "em", "h1",
                "h2", "h3", "h4", "h5", "h6", "hr", "img", "kbd", "li", "ol", "p", "pre",
                "strong", "sub", "sup", "table", "tbody", "td", "th", "thead", "tr", "ul"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"},
                      "abbr": {"title"}, "td": {"align"}, "th": {"align"}}
URL_SCHEMES = {"http", "https", "mailto"}
WORD = re.compile(r"\w{3,}", re.UNICODE)
STOP_WORDS = {"the", "and", "for", "with", "not", "does", "och", "för", "med", "inte", "som",
              "det", "den", "att", "kan", "har", "från"}


def render(text: str) -> Markup:
    """Markdown to HTML that cannot run script: nh3 keeps only harmless tags and attributes and
    only http(s)/mailto links (javascript:, data: and the like are dropped)."""
    html = md.markdown(text or "", extensions=["extra", "sane_lists"], output_format="html")
    return Markup(nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                            url_schemes=URL_SCHEMES, link_rel="noopener noreferrer nofollow"))


def words(text: str) -> set[str]:
    return {w for w in WORD.findall((text or "").lower()) if w not in STOP_WORDS}


def _search_text(title, body):
    return f"{title}\n{body}".lower()


# ---------------------------------------------------------------------------------------------
# Finding


def search(org_id, text, *, language=None, limit=20, include_drafts_of=None):
    """Published articles (and the member's own drafts) with every word of ``text``."""
    query = Article.select().where(Article.organisation == org_id)
    visible = Article.status == "published"
    if include_drafts_of is not None:
        visible |= Article.created_by == include_drafts_of
    query = query.where(visible)
    if language:
        query = query.where(Article.language == language)
    for word in sorted(words(text))[:8]:
        query = query.where(Article.search_text.contains(word))
    return list(query.order_by(Article.updated_at.desc(), Article.id.desc()).limit(limit))


def _suggest_query(org_id, patterns):
    """Published articles whose text is LIKE any of ``patterns`` (what ``contains`` makes of a
    word without LIKE's special characters, so that ``sqlcache`` can reuse the SQL)."""
    match = None
    for pattern in patterns:
        clause = Expression(Article.search_text, OP.ILIKE, pattern)
        match = clause if match is None else (match | clause)
    return (Article.select().where((Article.organisation == org_id)
                                   & (Article.status == "published") & match)
            .order_by(Article.updated_at.desc()).limit(100))


def suggest(org_id, subject, *, limit=5):
    """Articles matching any of the subject's words, best overlap first (as an agent types)."""
    wanted = words(subject)
    if not wanted:
        return []
    chosen = sorted(wanted)[:8]
    if any("_" in word for word in chosen):  # LIKE needs an ESCAPE clause for "_"
        match = None
        for word in chosen:
            clause = Article.search_text.contains(word)
            match = clause if match is None else (match | clause)
        rows = list(Article.select().where((Article.organisation == org_id)
                                           & (Article.status == "published") & match)
                    .order_by(Article.updated_at.desc()).limit(100))
    else:
        # The case page asks on every view: the SQL is compiled once per number of words.
        rows = sqlcache.select(("sla.suggest", len(chosen)), _suggest_query, org_id,
                               tuple(f"%{word}%" for word in chosen))
    rows.sort(key=lambda a: -len(wanted & words(a.search_text)))
    return rows[:limit]


def similar(org_id, title, catalog_item_id, *, exclude_id=None, body=""):
    """Existing articles for the same catalog item sharing words with this one."""
    mine = words(title) | words(body)
    query = Article.select().where((Article.organisation == org_id))
    query = query.where(Article.catalog_item_id == catalog_item_id) if catalog_item_id \
        else query.where(Article.catalog_item_id.is_null())
    if exclude_id:
        query = query.where(Article.id != exclude_id)
    found = []
    for article in query.limit(500):
        common = mine & words(article.title)
        if len(common) >= max(1, min(2, len(words(article.title)))):
            found.append(article)
    return found[:5]


# ---------------------------------------------------------------------------------------------
# Writing


def draft_from_case(case):
    """A draft from the case: its escalation packet (symptom, device, troubleshooting tried) and
    the resolution note (the solution)."""
    from .resolution import latest_for
    packet = holding.packet_of(case)
    data = packet.data if packet is not None else {}
    resolution = latest_for(case)
    sections = [(_("Symptom"), data.get("description", "")),
                (_("Device"), data.get("serial_number", "")),
                (_("Troubleshooting tried"), data.get("troubleshooting", "")),
                (_("Solution"), resolution.note if resolution is not None else "")]
    body = "\n\n".join(f"## {heading}\n\n{text}".rstrip() for heading, text in sections)
    return {"title": data.get("subject") or case.subject, "body": body + "\n",
            "catalog_item": (data.get("item") or {}).get("id") or
            (packet.item_id if packet is not None else None)}


def save(org, actor, *, title, body, language, catalog_item_id, publish, now, from_case=None,
         article=None) -> Article:
    title, body = (title or "").strip(), (body or "").strip()
    problems = []
    if not title:
        problems.append(("title", _l("Give the article a title.")))
    if not body:
        problems.append(("body", _l("Write the article.")))
    if language not in LOCALES:
        problems.append(("language", _l("Choose a language from the list.")))
    if problems:
        raise Invalid(problems)
    fields = dict(title=title[:200], body=body, language=language,
                  catalog_item_id=catalog_item_id or None,
                  status="published" if publish else "draft",
                  search_text=_search_text(title, body), updated_at=now)
    with database.atomic():
        if article is None:
            article = Article.create(organisation=org.id, created_by=actor.id, created_at=now,
                                     **fields)
            action = "sla.article_created"
        else:
            Article.update(**fields).where(Article.id == article.id).execute()
            article = Article.get_by_id(article.id)
            action = "sla.article_updated"
        audit.record(actor, action, organisation=org.id, subject=article, now=now, title=title,
                     status=fields["status"])
        if from_case is not None:
            _link(article, from_case, "source", actor, now)
            audit.record(actor, "sla.article_written", organisation=org.id, case=from_case.id,
                         subject=article, now=now, title=title)
    return article


def _link(article, case, kind, actor, now):
    try:
        with database.atomic():
            ArticleCase.create(organisation=article.organisation_id, article=article.id,
                               case=case.id, kind=kind, member=actor.id, created_at=now)
        return True
    except IntegrityError:
        return False


def solved_with(case, article, actor, *, now) -> bool:
    """"Solved with this article": counts as an avoided escalation (once per case and article)."""
    with database.atomic():
        linked = _link(article, case, "solved_with", actor, now)
        if linked:
            audit.record(actor, "sla.article_used", organisation=case.organisation_id,
                         case=case.id, subject=article, now=now, title=article.title)
    return linked


def cases_of(article):
    return list(Case.select(Case, ArticleCase.kind).join(ArticleCase, on=(ArticleCase.case == Case.id))
                .where(ArticleCase.article == article.id).order_by(Case.id).objects())
