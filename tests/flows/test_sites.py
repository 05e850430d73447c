"""Tests for infoshos.flows.clean.sites (pages follow docs/CONTRACTS.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import urljoin

import pytest

from infoshos.flows.clean.dates import MOSCOW
from infoshos.flows.clean.decode import decode_body
from infoshos.flows.clean.sites import (
    REASONS,
    RULES,
    Extracted,
    NotArticle,
    collapse_ws,
    extract_article,
)
from infoshos.spiders.sample_site import model, render

MSK3 = timezone(timedelta(hours=3))
INFOSHOS_URL = "http://infoshos.sample.test/en/?idn=42"
SECTSCO_URL = "https://eng.sectsco.sample.test/20180312/123.html"

PHP_WARNING = (
    "<br />\n<b>Warning</b>:  mysql_connect(): Too many connections in "
    "<b>/var/www/infoshos/include/db.php</b> on line <b>14</b><br />\n"
)


def infoshos_page(
    body: str,
    *,
    tail: str = "",
    end: str = "</body>\n</html>\n",
    latest_date: str = "01.01.2019 10:00",
) -> str:
    return (
        '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN">\n<html>\n<head>\n'
        '<meta http-equiv="Content-Type" content="text/html; charset=windows-1251">\n'
        "<title>Title - Infoshos</title>\n"
        '<link rel="canonical" href="http://infoshos.sample.test/en/?idn=42">\n</head>\n'
        '<body>\n<div class="page"><div class="top-notice">Created with the assistance<br>'
        "of the Agency</div>\n"
        '<div class="top-menu"><a href="/en/news/?page=1" class="home">Home</a></div>\n'
        '<table class="layout"><tr><td class="left-column" valign="top">'
        '<div class="latest-news"><h3>Latest news</h3><div class="latest-item">'
        f'<span class="latest-date">{latest_date}</span><br>'
        '<a href="/en/?idn=41">Other news</a></div>'
        f'<div class="date">{latest_date}</div></div>'
        "</td>\n"
        '<td class="center-column" valign="top"><div class="center-column-wrap">\n'
        '<table class="article" width="100%"><tr><td class="text">\n'
        f"{body}\n</td></tr></table>\n"
        '<div class="article-tools">&bull; <a href="#comment" class="add-comment">Add Comment</a>'
        ' &bull; <a href="/en/print.php?idn=42" class="print">Print</a></div>\n'
        '<form class="comment-form" method="post" action="#"><h3>Leave a comment</h3>'
        '<label>Name <input type="text" name="name"></label></form>\n'
        '<div class="related"><h3>Related news</h3><div class="related-item">'
        '<a href="/en/?idn=40">Related</a><br><span class="related-date">02.02.2019 11:00</span>'
        f"</div></div>{tail}\n"
        "</div></td>\n</tr></table>\n"
        '<div class="footer">&copy; 2006-2019 Infoshos</div>\n</div>\n' + end
    )


BODY = (
    '<h1 class="title">SCO Foreign  Ministers\n meet in Beijing</h1>\n'
    '<div class="date">12.03.2018 14:05</div>\n'
    '<div class="lead">The Council met for the first time.</div>\n'
    "<p>On&nbsp;20 September the   ministers\n  met in\xa0Beijing. "
    '<a href="/en/?idn=7">See also</a></p>\n'
    "<p>&nbsp;</p>\n<p>   </p>\n"
    "<p>Damaged forms: of†the, in\xe1the, at\u00c2\xa0the stay as they are.</p>\n"
    "<p>Line one<br>continued<br><br>A new paragraph</p>\n"
)


def test_infoshos_article() -> None:
    got = extract_article(infoshos_page(BODY), INFOSHOS_URL, "infoshos")
    assert isinstance(got, Extracted)
    assert got.title == "SCO Foreign Ministers meet in Beijing"
    assert got.subtitle == "The Council met for the first time."
    assert got.date_text == "12.03.2018 14:05"
    assert got.published_at == datetime(2018, 3, 12, 14, 5, tzinfo=MSK3)
    assert got.published_at is not None and got.published_at.tzinfo is MOSCOW
    assert got.paragraphs == [
        "On\xa020 September the ministers met in\xa0Beijing. See also",
        "Damaged forms: of\u2020the, in\xe1the, at\u00c2\xa0the stay as they are.",
        "Line one continued",
        "A new paragraph",
    ]
    assert got.canonical_url == "http://infoshos.sample.test/en/?idn=42"
    assert got.links == ["http://infoshos.sample.test/en/?idn=7"]
    joined = "\n".join(got.paragraphs)
    for chrome in ("Add Comment", "Print", "Related", "Latest", "Leave a comment", "Infoshos"):
        assert chrome not in joined


def test_infoshos_php_warning_before_html() -> None:
    got = extract_article(PHP_WARNING + infoshos_page(BODY), INFOSHOS_URL, "infoshos")
    assert got.title == "SCO Foreign Ministers meet in Beijing"
    assert "Warning" not in " ".join(got.paragraphs)
    assert len(got.paragraphs) == 4


def test_infoshos_no_lead() -> None:
    body = BODY.replace('<div class="lead">The Council met for the first time.</div>\n', "")
    got = extract_article(infoshos_page(body), INFOSHOS_URL, "infoshos")
    assert got.subtitle is None
    assert got.paragraphs[0].startswith("On\xa020 September")


def test_infoshos_missing_date_not_taken_from_lists() -> None:
    body = BODY.replace('<div class="date">12.03.2018 14:05</div>\n', "")
    page = infoshos_page(body)
    assert "01.01.2019 10:00" in page and "02.02.2019 11:00" in page
    with pytest.raises(NotArticle) as err:
        extract_article(page, INFOSHOS_URL, "infoshos")
    assert err.value.reason == "no_date"
    assert "\n" not in err.value.detail


def test_infoshos_date_ignores_navigation_dates() -> None:
    got = extract_article(
        infoshos_page(BODY, latest_date="31.12.2019 23:59"), INFOSHOS_URL, "infoshos"
    )
    assert got.date_text == "12.03.2018 14:05"


def test_infoshos_unparseable_date() -> None:
    body = BODY.replace("12.03.2018 14:05", "yesterday")
    with pytest.raises(NotArticle) as err:
        extract_article(infoshos_page(body), INFOSHOS_URL, "infoshos")
    assert err.value.reason == "no_date"
    assert "yesterday" in err.value.detail


def test_infoshos_truncated() -> None:
    page = infoshos_page(BODY)
    cut = page[: page.index("Damaged forms") + 5]
    with pytest.raises(NotArticle) as err:
        extract_article(cut, INFOSHOS_URL, "infoshos")
    assert err.value.reason == "truncated"
    # a page is complete with </html> even in capitals
    assert extract_article(page.replace("</html>", "</HTML>"), INFOSHOS_URL, "infoshos").title


def test_infoshos_empty_body() -> None:
    body = BODY.split("<p>")[0] + "<p>&nbsp;</p>"
    with pytest.raises(NotArticle) as err:
        extract_article(infoshos_page(body), INFOSHOS_URL, "infoshos")
    assert err.value.reason == "no_body"


def test_infoshos_no_title() -> None:
    body = BODY.replace('<h1 class="title">SCO Foreign  Ministers\n meet in Beijing</h1>', "")
    with pytest.raises(NotArticle) as err:
        extract_article(infoshos_page(body), INFOSHOS_URL, "infoshos")
    assert err.value.reason == "no_title"


def test_infoshos_list_page_is_not_article() -> None:
    page = (
        "<html><body><div class='center-column-wrap'><h1 class='list-title'>News</h1>"
        "<div class='news-list'><div class='news-item'><span class='date'>12.03.2018 14:05</span>"
        " <a href='/en/?idn=1'>One</a></div></div></div></body></html>"
    )
    with pytest.raises(NotArticle) as err:
        extract_article(page, "http://infoshos.sample.test/en/news/?page=1", "infoshos")
    assert err.value.reason == "not_article"


def test_infoshos_repeated_title_paragraph_dropped() -> None:
    body = BODY.replace(
        "<p>On&nbsp;", "<p><b>SCO Foreign Ministers meet in Beijing</b></p><p>On&nbsp;"
    )
    got = extract_article(infoshos_page(body), INFOSHOS_URL, "infoshos")
    assert got.paragraphs[0].startswith("On\xa020")


def test_infoshos_print_page() -> None:
    page = (
        '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN">\n<html>\n<head>\n'
        '<link rel="canonical" href="http://infoshos.sample.test/ru/print.php?idn=42">\n</head>\n'
        '<body class="print" onload="window.print()">\n'
        '<h1 class="title">Встреча министров</h1>\n<div class="date">02.05.2018 09:15</div>\n'
        '<div class="lead">Подзаголовок</div>\n'
        '<div class="text">\n<p>Первый абзац.</p>\n<p>Второй\n абзац.</p>\n</div>\n'
        '<div class="source">http://infoshos.sample.test/ru/?idn=42</div>\n</body>\n</html>\n'
    )
    got = extract_article(page, "http://infoshos.sample.test/ru/print.php?idn=42", "infoshos")
    assert got.title == "Встреча министров"
    assert got.subtitle == "Подзаголовок"
    assert got.published_at == datetime(2018, 5, 2, 9, 15, tzinfo=MSK3)
    assert got.paragraphs == ["Первый абзац.", "Второй абзац."]
    assert got.canonical_url == "http://infoshos.sample.test/ru/print.php?idn=42"
    truncated = page[: page.index("Второй")]
    with pytest.raises(NotArticle) as err:
        extract_article(truncated, "http://infoshos.sample.test/ru/print.php?idn=42", "infoshos")
    assert err.value.reason == "truncated"


def sectsco_page(title: str, heading: str, lead: str = "", extra: str = "") -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{title} | SCO</title>\n"
        f'<link rel="canonical" href="{SECTSCO_URL}">\n</head>\n<body>\n'
        '<header class="site-header"><nav class="main-nav"><ul><li><a href="/eng/news/?offset=0">'
        "News</a></li></ul></nav></header>\n"
        '<main class="container">\n<div class="content">\n'
        '<article class="news-detail">\n'
        f'<h1 class="news-title">{title}</h1>\n'
        '<time datetime="2018-03-12T14:05:00+03:00">12.03.2018 14:05</time>\n'
        '<div class="news-body">\n'
        f'<h2 class="news-heading">{heading}</h2>\n{lead}'
        "<p>On 20 September the Council of\xa0Ministers met in Beijing. "
        '<a href="/eng/x.html">X</a></p>\n'
        "<p>Second   paragraph.</p>\n"
        f'{extra}<a class="doc-link" href="/eng/files/charter.pdf">'
        "Download the document (PDF)</a>\n"
        "</div>\n</article>\n</div>\n"
        '<aside class="sidebar"><h3>Latest news</h3><ul><li class="aside-item">'
        '<time datetime="2019-12-01T10:00:00+03:00">01.12.2019</time> <a href="/eng/1/2.html">L</a>'
        "</li></ul></aside>\n</main>\n"
        '<footer class="site-footer"><p>&copy; 2001-2019 SCO Secretariat.</p></footer>\n'
        "</body>\n</html>\n"
    )


def test_sectsco_article() -> None:
    page = sectsco_page(
        "SCO Ministers meet", "SCO  Ministers meet", lead='<p class="lead">A lead.</p>\n'
    )
    got = extract_article(page, SECTSCO_URL, "sectsco")
    assert got.title == "SCO Ministers meet"
    assert got.subtitle == "A lead."
    assert got.date_text == "12.03.2018 14:05"
    assert got.published_at == datetime(2018, 3, 12, 11, 5, tzinfo=UTC)
    assert got.paragraphs == [
        "On 20 September the Council of\xa0Ministers met in Beijing. X",
        "Second paragraph.",
    ]
    assert got.canonical_url == SECTSCO_URL
    assert got.links == ["https://eng.sectsco.sample.test/eng/x.html"]
    assert got.attachments == ["https://eng.sectsco.sample.test/eng/files/charter.pdf"]


def test_sectsco_heading_kept_when_different() -> None:
    page = sectsco_page("SCO Ministers meet", "Statement of the Secretary-General")
    got = extract_article(page, SECTSCO_URL, "sectsco")
    assert got.subtitle is None
    assert got.paragraphs[0] == "Statement of the Secretary-General"
    assert len(got.paragraphs) == 3


def test_sectsco_no_time() -> None:
    page = sectsco_page("T", "T").replace(
        '<time datetime="2018-03-12T14:05:00+03:00">12.03.2018 14:05</time>\n', ""
    )
    with pytest.raises(NotArticle) as err:
        extract_article(page, SECTSCO_URL, "sectsco")
    assert err.value.reason == "no_date"  # the sidebar's <time> is not the article's


def test_sectsco_list_is_not_article() -> None:
    page = (
        "<html><body><div class='news-list'><div class='news-item'><a href='/a.html'>A</a>"
        "<time datetime='2018-03-12T14:05:00+03:00'>12.03.2018</time></div></div></body></html>"
    )
    with pytest.raises(NotArticle) as err:
        extract_article(page, "https://eng.sectsco.sample.test/news/?offset=0", "sectsco")
    assert err.value.reason == "not_article"


def test_unknown_style() -> None:
    with pytest.raises(ValueError):
        extract_article("<html></html>", "http://x/", "nope")
    assert set(RULES) == {"infoshos", "sectsco", "ecrats"}


def test_not_article_detail_is_one_line() -> None:
    err = NotArticle("bad_date", "implausible\n  date 2030")
    assert (err.reason, err.detail, str(err)) == (
        "bad_date",
        "implausible date 2030",
        "bad_date: implausible date 2030",
    )


def test_reasons_raised_are_documented() -> None:
    assert {"no_title", "no_date", "no_body", "truncated", "not_article"} == REASONS


def test_infoshos_list_dates_inside_article_cell_ignored() -> None:
    body = BODY.replace('<div class="date">12.03.2018 14:05</div>\n', "") + (
        '<div class="related"><div class="related-item"><div class="date">03.03.2018 10:00</div>'
        '<a href="/en/?idn=1">Older</a></div></div>'
    )
    with pytest.raises(NotArticle) as err:
        extract_article(infoshos_page(body), INFOSHOS_URL, "infoshos")
    assert err.value.reason == "no_date"
    got = extract_article(infoshos_page(BODY + body[-160:]), INFOSHOS_URL, "infoshos")
    assert got.date_text == "12.03.2018 14:05"
    assert "Older" not in " ".join(got.paragraphs)


def test_collapse_ws_keeps_nbsp() -> None:
    assert collapse_ws("  a \n\t b\xa0 c  ") == "a b\xa0 c"
    assert collapse_ws("\xa0x\xa0") == "\xa0x\xa0"


# --------------------------------------------------------------------------- the sample site


def _sample() -> tuple[render.SiteData, list[model.SampleArticle]]:
    assert model.DATA_FILE.exists(), "the sample site's articles.yaml is missing"
    return render.SiteData(), model.load_articles()


EXACT_FORMS = (None, "nbsp_entity", "raw_a0")
BROKEN_REASON = {"truncated": "truncated", "no_date": "no_date", "empty_body": "no_body"}


def _sample_pages(data: render.SiteData, a: model.SampleArticle) -> list[tuple[str, bytes]]:
    if a.portal == "infoshos":
        print_url = a.canonical_url.replace("/?idn=", "/print.php?idn=")
        return [
            (a.canonical_url, render.infoshos_article(data, a)),
            (print_url, render.infoshos_print(a)),
        ]
    return [(a.canonical_url, render.sectsco_article(data, a))]


def test_sample_site_articles() -> None:
    data, articles = _sample()
    checked = 0
    for a in articles:
        if a.broken == "missing_404":
            continue
        for url, body in _sample_pages(data, a):
            ctype = "text/html; charset=windows-1251" if a.portal == "infoshos" else "text/html"
            text, _ = decode_body(body, {"Content-Type": ctype})
            if a.broken in BROKEN_REASON:
                with pytest.raises(NotArticle) as err:
                    extract_article(text, url, a.portal)
                assert err.value.reason == BROKEN_REASON[a.broken], (a.key, url)
                continue
            got = extract_article(text, url, a.portal)
            where = (a.key, url)
            assert got.title == a.title, where
            assert got.published_at == a.published_msk, where
            assert got.subtitle == a.subtitle, where
            assert len(got.paragraphs) == len(a.paragraphs), where
            if a.nbsp_form in EXACT_FORMS or a.language != "en":
                fixed = [p.replace("\xa0", " ") for p in got.paragraphs]
                assert fixed == a.paragraphs, where
            assert set(got.links) == {urljoin(url, link.href) for link in a.links}, where
            checked += 1
    assert checked > 0


def test_infoshos_br_br_body_without_p_and_br_in_title() -> None:
    body = (
        '<h1 class="title">SCO Day<br>in Beijing</h1>\n<div class="date">12.03.2018 14:05</div>\n'
        "First line of\xa0text<br>\nstill first paragraph.<br><br>\n"
        "Second <b>paragraph</b>.<br> <br>Third paragraph."
    )
    got = extract_article(infoshos_page(body), INFOSHOS_URL, "infoshos")
    assert got.title == "SCO Day in Beijing"
    assert got.paragraphs == [
        "First line of\xa0text still first paragraph.",
        "Second paragraph.",
        "Third paragraph.",
    ]
