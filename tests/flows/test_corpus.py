"""The clean stage on the corpus of unseen layouts (tests/corpus, issue 11 item 8).

Per page: a true article must be taken (no reject) with word F1 >= 0.98, the same paragraphs,
none of the page's chrome, the dateline's instant (time of day and zone kept), the title and the
language; a page that is not an article (listing, tag page, contact page, stub, About page) must
be rejected. Every failed check of a page is reported together.
"""

from __future__ import annotations

import difflib
from typing import Any

import pytest
from corpus import Site, clean, load_corpus, page_record, paragraphs, published, takes_timezone
from corpus import word_f1 as f1

MIN_F1 = 0.98
NOT_ARTICLE_REASONS = {"not_article", "no_body", "no_date", "no_title"}
SITES = load_corpus()
PAGES = [(site, path) for site in SITES for path in site.truth]


def _paragraph_diff(got: list[str], want: list[str]) -> str:
    lines = difflib.unified_diff(want, got, "truth", "extracted", lineterm="", n=0)
    return "\n".join(line[:160] for line in lines)


def article_problems(article: dict[str, Any], truth: dict[str, Any]) -> list[str]:
    problems = []
    text = article.get("text") or ""
    score = f1(text, truth["text"])
    if score < MIN_F1:
        problems.append(f"word F1 {score:.3f} < {MIN_F1}")
    got, want = paragraphs(text), paragraphs(truth["text"])
    if got != want:
        problems.append(
            f"paragraphs differ ({len(got)} extracted, {len(want)} true):\n"
            + _paragraph_diff(got, want)
        )
    leaked = [s for s in truth["absent"] if s in text]
    if leaked:
        problems.append(f"chrome in the text: {leaked}")
    if truth.get("credit") and truth["credit"] in text:
        problems.append(f"credit line in the text: {truth['credit']!r}")
    if article.get("credit") != truth.get("credit"):  # kept as metadata, apart from the text
        problems.append(f"credit {article.get('credit')!r} != {truth.get('credit')!r}")
    when, want_when = article.get("published_at"), published(truth)
    if when is None or when.tzinfo is None or when != want_when:
        shown = when.isoformat() if when is not None else None
        problems.append(f"published_at {shown} != {want_when.isoformat()}")
    if " ".join((article.get("title") or "").split()) != truth["title"]:
        problems.append(f"title {article.get('title')!r} != {truth['title']!r}")
    if article.get("language") != truth["language"]:
        problems.append(f"language {article.get('language')!r} != {truth['language']!r}")
    return problems


@pytest.mark.parametrize(
    ("site", "path"), PAGES, ids=[f"{site.name}/{path}" for site, path in PAGES]
)
def test_page(site: Site, path: str) -> None:
    truth = site.truth[path]
    result = clean(site, path)
    if not truth["article"]:
        assert result.article is None, (
            f"non-article taken ({truth['why']}): title {result.article['title']!r},"
            f" text {result.article['text'][:120]!r}"
        )
        assert result.reject is not None, "non-article neither taken nor rejected"
        assert result.reject["reason"] in NOT_ARTICLE_REASONS, result.reject
        return
    assert result.reject is None, f"true article rejected: {result.reject}"
    assert result.article is not None
    problems = article_problems(result.article, truth)
    assert not problems, f"{site.name}/{path}:\n" + "\n".join(problems)


def test_clean_page_takes_the_source_timezone() -> None:
    assert takes_timezone(), "clean_page has no `timezone` keyword: datelines lose their zone"


@pytest.mark.parametrize("site", SITES, ids=[s.name for s in SITES])
def test_corpus_site_has_what_the_issue_asks(site: Site) -> None:
    """Each site mixes short and long articles in English and Russian, has a Russian page in a
    legacy encoding declared nowhere, and at least four kinds of non-article pages."""
    articles = [site.truth[p] for p in site.articles()]
    lengths = [len(a["text"].split()) for a in articles]
    assert any(n <= 80 for n in lengths) and any(n >= 150 for n in lengths), lengths
    assert {"en", "ru"} <= {a["language"] for a in articles}
    undeclared = [
        path
        for path in site.articles()
        if site.truth[path]["language"] == "ru"
        and "charset" not in site.truth[path]["content_type"]
        and b"charset" not in page_record(site, path)["body"].lower()
        and not _is_utf8(page_record(site, path)["body"])
    ]
    assert undeclared, "no Russian page in an undeclared legacy encoding"
    assert len(site.truth) - len(articles) >= 4
    for path in site.articles():
        assert set(site.truth[path]) >= {"url", "title", "published_at", "text", "absent"}
        assert published(site.truth[path]).tzinfo is not None


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
