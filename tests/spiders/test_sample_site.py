"""The bundled sample site: content, lists, encodings, nbsp forms and broken cases."""

from __future__ import annotations

import html
import re
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest

from infoshos.spiders.sample_site import (
    SampleArticle,
    SampleSite,
    expected_articles,
    load_articles,
    load_documents,
    start_urls,
    url_map,
)

PREPS = "of|in|on|by|with|at|to|between|for|into|about|as|from|against"
FORMS = ("nbsp_entity", "raw_a0", "glued", "mac_roman", "cp437", "latin1")
#: What each form looks like once a page is decoded and its entities unescaped.
DECODED = {
    None: " ",
    "nbsp_entity": "\xa0",
    "raw_a0": "\xa0",
    "glued": "",
    "mac_roman": "\u2020",
    "cp437": "\u00e1",
    "latin1": "\u00c2\xa0",
}
#: The bytes each form leaves between "of" and "the" (Infoshos cp1251, Secretariat UTF-8).
CP1251_BYTES = {
    "nbsp_entity": b"&nbsp;",
    "raw_a0": b"\xa0",
    "glued": b"",
    "mac_roman": b"\x86",
    "cp437": b"&#225;",
    "latin1": b"&#194;\xa0",
}
UTF8_BYTES = {
    "nbsp_entity": b"&nbsp;",
    "raw_a0": b"\xc2\xa0",
    "glued": b"",
    "mac_roman": b"\xe2\x80\xa0",
    "cp437": b"\xc3\xa1",
    "latin1": b"\xc3\x82\xc2\xa0",
}


@dataclass
class Resp:
    status: int
    content_type: str
    body: bytes


def fetch(base: str, path: str) -> Resp:
    url = path if path.startswith("http") else base + path
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return Resp(r.status, r.headers.get("Content-Type", ""), r.read())
    except urllib.error.HTTPError as e:
        return Resp(e.code, e.headers.get("Content-Type", ""), e.read())


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    with SampleSite(port=0) as site:
        assert site.base_url.startswith("http://127.0.0.1:")
        yield site.base_url


@pytest.fixture(scope="module")
def crawl(base: str) -> dict[str, list[tuple[str, list[str]]]]:
    """Every list followed through ``a.next``: list name -> [(page path, item links)]."""
    out: dict[str, list[tuple[str, list[str]]]] = {}
    for name, first in [
        ("infoshos-en", "/infoshos/en/news/?page=1"),
        ("infoshos-ru", "/infoshos/ru/news/?page=1"),
        ("sectsco-eng", "/sectsco/eng/news/?offset=0"),
        ("sectsco-rus", "/sectsco/rus/news/?offset=0"),
    ]:
        pages: list[tuple[str, list[str]]] = []
        path: str | None = first
        while path is not None and len(pages) < 20:
            r = fetch(base, path)
            assert r.status == 200, path
            text = r.body.decode("cp1251" if "infoshos" in path else "utf-8")
            items = re.findall(r'<div class="news-item">.*?<a href="([^"]+)"', text)
            pages.append((path, items))
            nxt = re.search(r'<a class="next" href="([^"]+)"', text)
            path = html.unescape(nxt.group(1)) if nxt else None
        out[name] = pages
    return out


def body_paragraphs(a: SampleArticle, body: bytes, printed: bool = False) -> list[str]:
    """The article's body paragraphs as shown: decoded, tags stripped, entities unescaped."""
    if printed:
        m = re.search(r'<div class="text">(.*?)</div>', body.decode("cp1251"), re.S)
    elif a.portal == "infoshos":
        m = re.search(r'<td class="text">(.*?)</td>', body.decode("cp1251"), re.S)
    else:
        m = re.search(r'<div class="news-body">(.*?)</div>', body.decode("utf-8"), re.S)
    assert m is not None, a.key
    return [
        html.unescape(re.sub(r"<[^>]+>", "", p)) for p in re.findall(r"<p>(.*?)</p>", m.group(1))
    ]


def expected_shown(a: SampleArticle, text: str) -> str:
    """How a clean paragraph should look on the page once decoded (independent of the renderer)."""
    if a.language != "en" or a.nbsp_form is None:
        return text
    return re.sub(rf"(?<![\w'&;-])({PREPS}) ", lambda m: m.group(1) + DECODED[a.nbsp_form], text)


# ---------------------------------------------------------------------------- content


def test_content_counts_and_relations() -> None:
    arts = load_articles()
    valid = expected_articles()
    assert len({a.key for a in arts}) == len(arts)
    assert len({a.canonical_url for a in arts}) == len(arts)
    assert len({a.idn for a in arts if a.portal == "infoshos"}) == sum(
        a.portal == "infoshos" for a in arts
    )
    assert len(valid) >= 60
    assert sum(a.language == "ru" for a in valid) >= 15
    by = Counter((a.portal, a.language) for a in valid)
    assert by["infoshos", "en"] >= 30 and by["infoshos", "ru"] >= 16
    assert by["sectsco", "en"] + by["sectsco", "ru"] >= 16
    assert len({a.broken for a in arts} - {None}) == 5
    assert all(a.broken != "http500_once" or a in valid for a in arts)
    assert not any(a.broken in ("missing_404", "truncated", "no_date", "empty_body") for a in valid)
    keys = {a.key: a for a in arts}
    for a in valid:
        words = len(a.text.split())
        assert 120 <= words <= 350, (a.key, words)
        assert 3 <= len(a.paragraphs) <= 6, a.key
        assert all(p == " ".join(p.split()) and "\xa0" not in p for p in a.paragraphs)
        if a.language == "ru":
            assert a.nbsp_form is None, a.key
        elif a.portal == "infoshos":
            assert a.nbsp_form in FORMS, a.key
    republished = [a for a in valid if a.republish_of]
    english_republished = [
        a
        for a in republished
        if a.language == "en" and keys[a.republish_of or ""].portal == "infoshos"
    ]
    assert len(english_republished) >= 8
    for a in republished:
        src = keys[a.republish_of or ""]
        assert a.portal == "sectsco" and src.portal == "infoshos"
        assert a.paragraphs != src.paragraphs
        assert a.nbsp_form != src.nbsp_form or a.nbsp_form is None
        shared = set(a.paragraphs) & set(src.paragraphs)
        assert shared, a.key  # a near duplicate, not a rewrite
    pairs = [a for a in valid if a.translation_of and keys[a.translation_of].language != a.language]
    assert len(pairs) >= 6
    assert sum(a.news_alias for a in valid if a.portal == "sectsco") >= 3
    forms = Counter(a.nbsp_form for a in valid if a.language == "en")
    assert all(forms[f] >= 4 for f in FORMS), forms
    assert any("Ant\u00f3nio Guterres" in a.text for a in valid)
    assert any("\u00e1" in a.text for a in valid if a.nbsp_form == "cp437")


def test_url_map_and_start_urls() -> None:
    base = "http://127.0.0.1:9999"
    mapping = dict(url_map(base))
    assert mapping[base + "/infoshos/"] == "http://infoshos.sample.test/"
    assert mapping[base + "/sectsco/eng/"] == "https://eng.sectsco.sample.test/"
    assert mapping[base + "/sectsco/rus/"] == "https://rus.sectsco.sample.test/"
    starts = start_urls(base)
    assert set(starts) == {"infoshos-sample", "sectsco-sample"}
    assert base + "/infoshos/rss/rss_en.xml" in starts["infoshos-sample"]
    assert base + "/sectsco/rus/news/?offset=0" in starts["sectsco-sample"]
    for a in load_articles():
        local = base + a.local_path
        mapped = [
            canon + local[len(loc) :] for loc, canon in mapping.items() if local.startswith(loc)
        ]
        assert mapped == [a.canonical_url]
    assert "news/" not in "".join(a.canonical_url for a in load_articles() if a.portal == "sectsco")


# ---------------------------------------------------------------------------- lists and reach


def test_lists_are_paged_newest_first(crawl: dict[str, list[tuple[str, list[str]]]]) -> None:
    for name in ("infoshos-en", "infoshos-ru", "sectsco-eng"):
        assert len(crawl[name]) >= 3, name
    for name, pages in crawl.items():
        assert all(1 <= len(items) <= 10 for _, items in pages), name
        assert all(len(items) == 10 for _, items in pages[:-1]), name
    by_path = {a.local_path: a for a in load_articles()}
    for name in ("infoshos-en", "infoshos-ru"):
        times = [by_path[i].published_at for _, items in crawl[name] for i in items if i in by_path]
        assert times == sorted(times, reverse=True), name


def test_every_article_reachable(base: str, crawl: dict[str, list[tuple[str, list[str]]]]) -> None:
    linked = {i for pages in crawl.values() for _, items in pages for i in items}
    for feed in ("/infoshos/rss/rss_en.xml", "/infoshos/rss/rss_ru.xml"):
        r = fetch(base, feed)
        assert r.status == 200 and "xml" in r.content_type
        text = r.body.decode("cp1251")
        assert text.count("<item>") >= 10
        assert re.search(r"<pubDate>\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d \+0300</pubDate>", text)
        links = re.findall(r"<link>([^<]+)</link>", text)
        assert all(link.startswith(base) for link in links)
        linked |= {
            urlsplit(html.unescape(link)).path + "?" + urlsplit(html.unescape(link)).query
            for link in links
        }
    for a in expected_articles():
        assert a.local_path in linked, a.key
        if a.news_alias:
            assert a.alias_path in linked, a.key
    missing = next(a for a in load_articles() if a.broken == "missing_404")
    assert missing.local_path in linked
    assert any(i.startswith("/infoshos/files/") and i.endswith(".pdf") for i in linked)


# ---------------------------------------------------------------------------- pages


def test_article_text_and_encodings(base: str) -> None:
    seen_variants = set()
    for a in expected_articles():
        r = fetch(base, a.local_path)
        if a.broken == "http500_once" and r.status == 500:
            r = fetch(base, a.local_path)
        assert r.status == 200, a.key
        head = r.body[: r.body.index(b"</head>")]
        if a.portal == "infoshos":
            variant = a.encoding_variant
            seen_variants.add(variant)
            has_header = "windows-1251" in r.content_type.lower()
            has_meta = b"charset=windows-1251" in head
            assert has_header == (variant in (None, "header_only")), a.key
            assert has_meta == (variant in (None, "meta_only")), a.key
            assert r.content_type.startswith("text/html")
            text = r.body.decode("cp1251")
            assert f'<div class="date">{a.published}</div>' in text
            assert "Federal Agency for Press and Mass Communications" in text or a.language == "ru"
        else:
            assert r.content_type == "text/html; charset=utf-8"
            assert b'<meta charset="utf-8">' in head
            text = r.body.decode("utf-8")
            iso = a.published_msk.strftime("%Y-%m-%dT%H:%M:%S+03:00")
            assert f'<time datetime="{iso}">' in text
        title = re.search(r'<h1 class="[\w-]+">(.*?)</h1>', text)
        assert title is not None and html.unescape(title.group(1)) == a.title
        shown = body_paragraphs(a, r.body)
        assert shown == [expected_shown(a, p) for p in a.paragraphs], a.key
        if a.subtitle:
            assert html.escape(a.subtitle, quote=False) in text
    assert {None, "header_only", "meta_only", "none"} <= seen_variants


def test_infoshos_chrome(base: str) -> None:
    a = next(x for x in expected_articles() if x.portal == "infoshos" and x.language == "en")
    text = fetch(base, a.local_path).body.decode("cp1251")
    for piece in (
        "The website has been created with the financial assistance",
        "Make Infoshos my homepage",
        "Contact us",
        "Add to Favorites",
        "Member States:",
        "Observer States:",
        "SCO Currencies/Ruble",
        "Leave a comment",
        "&bull;",
        "Add Comment",
        "Print",
    ):
        assert piece in text, piece
    assert re.search(r'<span class="clock">\d\d:\d\d</span>Phnom Penh', text)
    latest = r'class="latest-item"><span class="latest-date">\d\d\.\d\d\.\d{4} \d\d:\d\d'
    assert len(re.findall(latest, text)) == 10
    assert re.search(r'class="related-item"><a href="/infoshos/en/\?idn=\d+">', text)
    ru = next(x for x in expected_articles() if x.portal == "infoshos" and x.language == "ru")
    text_ru = fetch(base, ru.local_path).body.decode("cp1251")
    assert "Государства-члены:" in text_ru and "Оставить комментарий" in text_ru
    printed = fetch(base, f"/infoshos/en/print.php?idn={a.idn}")
    assert printed.status == 200
    assert body_paragraphs(a, printed.body, printed=True) == [
        expected_shown(a, p) for p in a.paragraphs
    ]


def test_nbsp_forms_in_bytes(base: str) -> None:
    found: Counter[tuple[str, str]] = Counter()
    for a in expected_articles():
        if a.nbsp_form is None or not any(" of the " in p for p in a.paragraphs):
            continue
        body = fetch(base, a.local_path).body
        if a.broken == "http500_once" and body.startswith(b"<html><body><h1>500"):
            body = fetch(base, a.local_path).body
        table = CP1251_BYTES if a.portal == "infoshos" else UTF8_BYTES
        assert b" of" + table[a.nbsp_form] + b"the " in body, a.key
        cell = body.index(b'<td class="text">' if a.portal == "infoshos" else b"news-body")
        start = body.index(b"<p>", cell)
        assert (
            b" of the "
            not in body[
                start : body.index(b"</td>" if a.portal == "infoshos" else b"</article>", start)
            ]
        ), a.key
        found[a.portal, a.nbsp_form] += 1
    for form in FORMS:
        assert found["infoshos", form] >= 1, form


def test_canonical_links_and_aliases(base: str) -> None:
    for a in expected_articles():
        r = fetch(base, a.local_path)
        if r.status == 500:
            r = fetch(base, a.local_path)
        assert f'<link rel="canonical" href="{a.canonical_url}">'.encode() in r.body, a.key
        if a.news_alias:
            alias = fetch(base, a.alias_path or "")
            assert alias.status == 200 and alias.body == r.body


def test_http500_once_then_200() -> None:
    a = next(x for x in load_articles() if x.broken == "http500_once")
    with SampleSite(port=0) as site:
        assert fetch(site.base_url, a.local_path).status == 500
        second = fetch(site.base_url, a.local_path)
        assert second.status == 200 and a.title.encode("cp1251") in second.body
        assert fetch(site.base_url, a.local_path).status == 200


def test_not_found_pdf_and_robots(base: str) -> None:
    missing = next(a for a in load_articles() if a.broken == "missing_404")
    assert fetch(base, missing.local_path).status == 404
    assert fetch(base, "/nothing/here").status == 404
    assert fetch(base, "/infoshos/en/news/?page=99").status == 404
    assert fetch(base, "/sectsco/eng/news/?offset=990").status == 404
    en_only = next(a for a in expected_articles() if a.portal == "infoshos" and a.language == "en")
    assert fetch(base, f"/infoshos/ru/?idn={en_only.idn}").status == 404
    for doc in load_documents():
        r = fetch(base, doc.local_path)
        assert r.status == 200 and r.content_type == "application/pdf"
        assert r.body.startswith(b"%PDF-") and r.body.rstrip().endswith(b"%%EOF")
    robots = fetch(base, "/robots.txt")
    assert (
        robots.status == 200 and b"Disallow:\n" in robots.body and b"Disallow: /" not in robots.body
    )


def test_broken_pages(base: str) -> None:
    arts = {a.broken: a for a in load_articles() if a.broken}
    truncated = fetch(base, arts["truncated"].local_path)
    assert truncated.status == 200
    assert b"</html>" not in truncated.body and b"</td>" not in truncated.body.split(b'"text">')[1]
    assert arts["truncated"].paragraphs[0].split(",")[0].encode() in truncated.body
    no_date = fetch(base, arts["no_date"].local_path).body
    assert b'<div class="date">' not in no_date and b"<p>" in no_date
    empty = fetch(base, arts["empty_body"].local_path).body
    assert b'<div class="date">' in empty
    assert not re.search(rb'<td class="text">.*<p>.*</td>', empty, re.S)
    php = next(a for a in load_articles() if a.php_warning)
    page = fetch(base, php.local_path)
    assert page.status == 200 and page.body.lstrip().startswith(b"<br />\n<b>Warning</b>: ")
    assert page.body.index(b"mysql_connect()") < page.body.index(b"<html>")
    assert body_paragraphs(php, page.body) == php.paragraphs
    offsite = [a for a in expected_articles() if any("example.org" in x.href for x in a.links)]
    assert offsite
    body = fetch(base, offsite[0].local_path).body
    assert re.search(rb'<p>[^\n]*<a href="http://example\.org/[^"]+">', body)
