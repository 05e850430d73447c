"""The clean stage page by page: every way a fetched page becomes an article or a reject."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from infoshos.flows.clean.articles import clean_page, clean_pages
from infoshos.spiders.sample_site import expected_articles, render
from infoshos.spiders.sample_site.model import SampleArticle
from infoshos.warehouse.keys import article_id

NOW = datetime(2026, 11, 24, tzinfo=UTC)
CP1251 = {"content-type": "text/html; charset=windows-1251"}


def _article(lang: str = "en") -> SampleArticle:
    return next(a for a in expected_articles() if a.portal == "infoshos" and a.language == lang)


def _page(art: SampleArticle, **kw: Any) -> dict[str, Any]:
    page: dict[str, Any] = {
        "page_id": "p1",
        "url": art.canonical_url,
        "final_url": art.canonical_url,
        "source": "s",
        "page_type": "article",
        "status": 200,
        "headers": CP1251,
        "body": render.infoshos_article(render.SiteData(), art),
    }
    page.update(kw)
    return page


def test_a_good_page_becomes_its_article() -> None:
    art = _article("ru")
    result = clean_page(_page(art), "infoshos", "windows-1251", NOW)
    assert result.reject is None and result.article is not None
    row = result.article
    assert row["article_id"] == article_id(art.canonical_url)
    assert (row["title"], row["text"], row["language"]) == (art.title, art.text, "ru")
    assert row["published_at"] == art.published_msk
    assert row["word_count"] == len(re.findall(r"\w+", art.text))  # штаб-квартире: 2 words
    assert result.encoding == "windows-1251"


def test_reject_reasons() -> None:
    art = _article()
    full = render.infoshos_article(render.SiteData(), art)
    cases: list[tuple[dict[str, Any], str, str]] = [
        (_page(art, status=404), "crawl", "http_error"),
        (_page(art, status=None, body=None, detail="timeout: 30 s"), "crawl", "http_error"),
        (_page(art, skip_reason="offsite", detail="http://example.org/"), "crawl", "offsite"),
        (_page(art, page_type="other", detail="not an article: a listing"), "crawl", "not_article"),
        (_page(art, headers={"content-type": "application/pdf"}), "clean", "not_article"),
        (_page(art, body=b"\x00\x01\x02" * 400, headers={}), "clean", "decode_error"),
        (_page(art, body=full[:3000]), "clean", "truncated"),
    ]  # fmt: skip
    for page, stage, reason in cases:
        result = clean_page(page, "infoshos", None, NOW)
        assert result.article is None, reason
        assert result.reject is not None, reason
        assert (result.reject["stage"], result.reject["reason"]) == (stage, reason)
        assert result.reject["url"] == art.canonical_url and result.reject["detail"]


def test_a_future_date_is_a_bad_date() -> None:
    art = _article()
    future = dataclasses.replace(art, published="01.01.2031 10:00")
    page = _page(art, body=render.infoshos_article(render.SiteData(), future))
    result = clean_page(page, "infoshos", None, NOW)
    assert result.reject is not None and result.reject["reason"] == "bad_date"
    assert "2031" in result.reject["detail"]


def test_not_modified_and_navigation_make_nothing() -> None:
    art = _article()
    for page in (_page(art, status=304, body=None), _page(art, page_type="list")):
        result = clean_page(page, "infoshos", None, NOW)
        assert result.article is None and result.reject is None


def test_an_article_and_its_print_page_are_one_article() -> None:
    art = _article()
    print_url = art.canonical_url.replace("/?idn=", "/print.php?idn=")
    pages = [
        _page(art, page_id="a"),
        _page(art, page_id="b", url=print_url, final_url=print_url, page_type="print",
              body=render.infoshos_print(art)),
    ]  # fmt: skip
    out = clean_pages(pages, {"s": "infoshos"}, {"s": None}, NOW)
    assert len(out.articles) == 1 and out.rejects == []
    assert out.articles[0]["page_id"] == "a"
    assert set(out.encodings) == {"a", "b"}


# -- issue 13, finding 6: a date outside 1990..tomorrow is a bad_date, whoever finds it ------
_GENERIC_BODY = "".join(
    f"<p>The council of ministers met on Tuesday to discuss the regional programme, part {i}, "
    "and agreed on the next steps for the working groups of the member states.</p>"
    for i in range(6)
)


def _generic_page(dateline: str, head: str = "") -> dict[str, Any]:
    html = (
        f"<html><head><title>Ministers meet in Astana</title>{head}</head><body>"
        f"<article><h1>Ministers meet in Astana</h1>{dateline}{_GENERIC_BODY}</article>"
        "</body></html>"
    )
    return {
        "page_id": "g1",
        "url": "http://news.example.test/2024/ministers",
        "source": "g",
        "page_type": "article",
        "status": 200,
        "headers": {"content-type": "text/html; charset=utf-8"},
        "body": html.encode(),
    }


@pytest.mark.parametrize(
    ("dateline", "head"),
    [
        ('<p class="date">2 March 0001</p>', ""),
        ('<p class="date">02.03.0001 10:00</p>', ""),
        ('<time datetime="9999-12-31T23:59:59-12:00">31 December 9999</time>', ""),
        ("", '<meta property="article:published_time" content="0001-01-01T00:00:00Z">'),
        ("", '<meta property="article:published_time" content="9999-12-31T23:59:00Z">'),
        ('<p class="date">5 May 1985</p>', ""),
    ],
)
def test_an_implausible_dateline_of_a_generic_page_is_a_bad_date(dateline: str, head: str) -> None:
    result = clean_page(_generic_page(dateline, head), "generic", None, NOW)
    assert result.article is None
    assert result.reject is not None
    assert result.reject["reason"] == "bad_date", result.reject
    assert "implausible" in result.reject["detail"]


def test_a_plausible_dateline_of_the_same_page_is_an_article() -> None:
    result = clean_page(_generic_page('<p class="date">2 March 2024</p>'), "generic", None, NOW)
    assert result.article is not None and result.article["published_at"].year == 2024


@pytest.mark.parametrize("when", ["01.01.0001 10:00", "31.12.9999 23:59", "01.01.1989 10:00"])
def test_an_implausible_date_of_the_site_rules_is_a_bad_date(when: str) -> None:
    art = _article()
    odd = dataclasses.replace(art, published=when)
    page = _page(art, body=render.infoshos_article(render.SiteData(), odd))
    result = clean_page(page, "infoshos", None, NOW)
    assert result.article is None
    assert result.reject is not None and result.reject["reason"] == "bad_date", result.reject


# -- issue 13, finding 7: deep pages and huge titles ----------------------------------------
@pytest.mark.parametrize("levels", [254, 300, 5000])
def test_a_page_nested_past_the_parsers_limit_keeps_its_title_and_text(levels: int) -> None:
    page = _generic_page('<p class="date">2 March 2024</p>')
    html = page["body"].decode()
    start, end = html.index("<article>"), html.index("</article>") + len("</article>")
    deep = html[:start] + "<div>" * levels + html[start:end] + "</div>" * levels + html[end:]
    result = clean_page({**page, "body": deep.encode()}, "generic", None, NOW)
    assert result.reject is None, result.reject
    flat = clean_page(page, "generic", None, NOW).article
    assert result.article is not None and flat is not None
    assert result.article["title"] == flat["title"] == "Ministers meet in Astana"
    assert result.article["text"] == flat["text"]


def test_flatten_keeps_shallow_pages_as_they_are_and_the_text_of_deep_ones() -> None:
    from infoshos.flows.clean.depth import MAX_DEPTH, flatten, max_depth

    shallow = (
        "<html><body>" + "<div>" * 50 + "<p>a<p>b<li>c<li>d" + "</div>" * 50 + "</body></html>"
    )
    assert flatten(shallow) == (shallow, 54)  # <p> and <li> close their siblings
    deep = "<div><span>" * 400 + "<p>words <b>here</b></p>" + "</span></div>" * 400
    out, depth = flatten(deep)
    assert depth == 802 and max_depth(out) == MAX_DEPTH + 2  # the wrappers, then <p><b>
    assert "<p>words <b>here</b></p>" in out
    script = "<script>" + "<div>" * 300 + "</script><p>x</p>"  # not markup: not counted
    assert max_depth(script) == 1


def test_a_huge_title_is_capped() -> None:
    from infoshos.flows.clean.articles import MAX_TITLE_CHARS

    words = " ".join(f"word{i}" for i in range(20000))  # about 150 KB
    art = _article()
    page = _page(
        art, body=render.infoshos_article(render.SiteData(), dataclasses.replace(art, title=words))
    )
    body = page["body"]
    result = clean_page(page, "infoshos", None, NOW)
    assert result.article is not None, result.reject
    title = result.article["title"]
    assert len(title) <= MAX_TITLE_CHARS == 1000
    assert title.endswith("\u2026") and words.startswith(title[:-1])
    assert page["body"] == body and words.encode() in body  # the page itself is kept whole


@pytest.mark.parametrize(
    "url", ["http://news.example.test:99999/a", "http://news.example.test:x/a"]
)
def test_a_page_whose_url_has_no_canonical_form_is_keyed_by_its_url(url: str) -> None:
    page = {**_generic_page('<p class="date">2 March 2024</p>'), "url": url}
    out = clean_pages([page], {"g": "generic"}, {}, NOW)
    assert [(a["url"], a["article_id"]) for a in out.articles] == [(url, article_id(url))]
