"""The SCO Secretariat's Chinese edition (``chn.sectsco.org``, language ``zh``): the spider's
language hint and records, the sectsco site rules on a Chinese article page, language detection,
jieba word counts and the clean stage's article row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import scrapy
from scrapy.http import HtmlResponse

from infoshos.flows.clean import articles, language, sites, words
from infoshos.spiders.sectsco import SectscoSpider
from infoshos.warehouse.keys import article_id

LOCAL = "http://127.0.0.1:8000/sectsco/chn/"
CHN = "https://chn.sectsco.org/"
URL = f"{CHN}20240704/1234.html"
NOW = datetime(2025, 1, 1, tzinfo=UTC)

TITLE = "上合组织秘书长会见哈萨克斯坦外交部长"
LEAD = "双方讨论了阿斯塔纳峰会的筹备工作。"
PARAGRAPHS = [
    "2024年7月3日，上海合作组织（SCO）秘书长张明在阿斯塔纳会见了哈萨克斯坦共和国外交部长。",
    "双方就上合组织框架内的合作现状和前景交换了意见，重点讨论了经济、交通和人文领域的合作。",
    "秘书长指出，哈萨克斯坦作为轮值主席国，为推动本组织发展作出了重要贡献。",
]


def page_html(paragraphs: list[str] = PARAGRAPHS, sidebar: str = "其他新闻", ws: str = "") -> str:
    """A Chinese article page in the Secretariat structure (docs/CONTRACTS.md)."""
    body = "".join(f"<p>{ws}{p}{ws}</p>\n" for p in paragraphs)
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{TITLE}</title>
<link rel="canonical" href="{URL}"></head>
<body>
<nav class="menu"><a href="/news/">新闻</a> <a href="/documents/">文件</a></nav>
<main><article class="news-detail">
<h1 class="news-title">{TITLE}</h1>
<time datetime="2024-07-04T15:30:00+03:00">2024年7月4日 15:30</time>
<div class="news-body">
<h2 class="news-heading">{TITLE}</h2>
<p class="lead">{LEAD}</p>
{body}<a class="doc-link" href="/files/astana_declaration_2024.pdf">阿斯塔纳宣言（PDF）</a>
<p>相关报道：<a href="/20240701/1200.html">秘书长会见中国代表</a>，<a href="https://www.mfa.gov.cn/">外交部</a></p>
</div>
</article></main>
<aside class="sidebar"><div class="news-item"><a href="/20240701/1200.html">{sidebar}</a>
<time datetime="2024-07-01T10:00:00+03:00">2024年7月1日</time></div></aside>
</body></html>
"""


def spool_page(html: str, url: str = URL) -> dict[str, Any]:
    return {
        "url": url,
        "final_url": url,
        "source": "sectsco",
        "page_type": "article",
        "status": 200,
        "headers": {"content-type": "text/html; charset=utf-8"},
        "body": html.encode("utf-8"),
        "page_id": "p1",
        "skip_reason": None,
    }


# -- the spider -------------------------------------------------------------------------------


def chn_spider() -> SectscoSpider:
    return SectscoSpider(
        source="sectsco", start_urls=[f"{LOCAL}news/?offset=0"], url_map=[(LOCAL, CHN)]
    )


def _parse(spider: SectscoSpider, url: str, body: str, page_type: str) -> list[Any]:
    request = scrapy.Request(url, meta={"page_type": page_type, "infoshos_depth": 0})
    resp = HtmlResponse(
        url, body=body.encode("utf-8"), request=request,
        headers={"Content-Type": "text/html; charset=utf-8"},
    )  # fmt: skip
    return list(spider.parse(resp))


def test_language_hint_of_the_chinese_edition() -> None:
    spider = chn_spider()
    for url in (URL, f"{CHN}news/20240704/1234.html", f"{CHN}news/?offset=10", CHN):
        assert spider.language_hint(url) == "zh", url
    assert spider.language_hint("https://www.chn.sectsco.org/20240704/1.html") is None
    assert spider.language_hint("https://eng.sectsco.org/20240704/1.html") == "en"
    assert spider.language_hint("https://rus.sectsco.org/20240704/1.html") == "ru"


def test_spider_records_of_a_chinese_list_and_article() -> None:
    # A mirror: links below the local prefix map to the canonical edition.
    spider = chn_spider()
    listing = (
        '<html><body><div class="news-list">'
        f'<div class="news-item"><a href="/sectsco/chn/20240704/1234.html">{TITLE}</a>'
        '<time datetime="2024-07-04T15:30:00+03:00">2024年7月4日</time></div>'
        '<div class="news-item"><a href="/sectsco/chn/news/20240701/1200.html">其他新闻</a>'
        '<time datetime="2024-07-01T10:00:00+03:00">2024年7月1日</time></div>'
        '</div><a class="next" href="?offset=10">下一页</a></body></html>'
    )
    out = _parse(spider, f"{LOCAL}news/?offset=0", listing, "list")
    record = out[0]
    assert record["url"] == f"{CHN}news/?offset=0" and record["language_hint"] == "zh"
    requests = [r for r in out if isinstance(r, scrapy.Request)]
    assert [(r.url, r.meta["page_type"]) for r in requests] == [
        (f"{LOCAL}20240704/1234.html", "article"),
        (f"{LOCAL}news/20240701/1200.html", "article"),
        (f"{LOCAL}news/?offset=10", "list"),
    ]

    # The live edition: the article page's root-relative links are on chn.sectsco.org.
    spider = SectscoSpider(source="sectsco", start_urls=[f"{CHN}news/?offset=0"])
    out = _parse(spider, URL, page_html(), "article")
    record = out[0]
    assert record["url"] == URL and record["page_type"] == "article"
    assert record["language_hint"] == "zh" and record["status"] == 200
    assert record["body"].decode("utf-8") == page_html()
    skips = {(r["skip_reason"], r["url"]) for r in out[1:] if isinstance(r, dict)}
    assert skips == {
        ("not_article", f"{CHN}files/astana_declaration_2024.pdf"),
        ("offsite", "https://www.mfa.gov.cn/"),
    }
    # the other story (text and sidebar: one request) and the news list of the menu
    assert [r.url for r in out if isinstance(r, scrapy.Request)] == [
        f"{CHN}20240701/1200.html",
        f"{CHN}news/",
    ]


# -- cleaning ---------------------------------------------------------------------------------


def test_sectsco_rules_extract_a_chinese_article() -> None:
    found = sites.extract_article(page_html(), URL, "sectsco")
    assert found.title == TITLE
    assert found.subtitle == LEAD
    assert found.published_at == datetime(2024, 7, 4, 15, 30, tzinfo=timezone(timedelta(hours=3)))
    # the heading repeating the title, the lead, the PDF link and the sidebar are not body
    assert found.paragraphs == [*PARAGRAPHS, "相关报道：秘书长会见中国代表，外交部"]
    assert found.attachments == [f"{CHN}files/astana_declaration_2024.pdf"]
    assert found.canonical_url == URL


def test_detect_language_and_jieba_word_counts() -> None:
    text = "\n\n".join(PARAGRAPHS)
    assert language.detect_language(text) == "zh"
    assert language.detect_language(TITLE) == "zh"
    assert language.detect_language(LEAD) == "zh"
    # \w+ runs would count each clause as one "word"
    runs = words.word_count(text, "en")
    count = words.word_count(text, "zh")
    cjk = language.script_counts(text)[2]
    assert runs < 15 < count
    assert cjk / 3 < count < cjk  # Chinese words are one to three characters, mostly two
    tokens = words.tokenize_words(text, "zh")
    assert len(tokens) == count
    assert {"哈萨克斯坦", "秘书长", "阿斯塔纳", "合作"} <= set(tokens)
    assert not any(t in tokens for t in ("，", "。", "（", "）", "、"))
    assert words.shingles("上海合作组织秘书长", "zh", k=2)[0].count(" ") == 1


def test_clean_page_makes_a_chinese_article_row() -> None:
    result = articles.clean_page(spool_page(page_html()), "sectsco", now=NOW)
    assert result.reject is None and result.encoding is not None
    art = result.article
    assert art is not None
    assert art["language"] == "zh"
    assert art["url"] == URL and art["article_id"] == article_id(URL)
    assert art["title"] == TITLE and art["subtitle"] == LEAD
    assert art["text"].split("\n\n")[:3] == PARAGRAPHS
    assert art["published_at"] == datetime(2024, 7, 4, 12, 30, tzinfo=UTC)
    assert art["word_count"] == words.word_count(art["text"], "zh")
    assert 40 < art["word_count"] < 120
    assert art["repairs"] == {}
    # content_hash: stable across runs, chrome and whitespace; different for another text
    again = articles.clean_page(spool_page(page_html()), "sectsco", now=NOW).article
    chrome = articles.clean_page(
        spool_page(page_html(sidebar="另一条新闻", ws="\n  ")), "sectsco", now=NOW
    ).article
    other = articles.clean_page(spool_page(page_html(PARAGRAPHS[:2])), "sectsco", now=NOW).article
    assert again is not None and chrome is not None and other is not None
    assert art["content_hash"] == again["content_hash"] == chrome["content_hash"]
    assert other["content_hash"] != art["content_hash"]
    assert len(art["content_hash"]) == 32
    # through clean_pages with the source's style
    out = articles.clean_pages([spool_page(page_html())], {"sectsco": "sectsco"}, now=NOW)
    assert [a["language"] for a in out.articles] == ["zh"] and out.rejects == []
