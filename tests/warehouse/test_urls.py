"""Canonical URLs and article ids (infoshos.warehouse.keys)."""

from __future__ import annotations

import hashlib

import pytest

from infoshos.warehouse.keys import article_id, canonical_url, url_key

CASES = [
    # scheme and host case, default ports, fragments
    ("HTTP://Example.COM/News/A", "http://example.com/News/A"),
    ("http://example.com:80/a", "http://example.com/a"),
    ("https://example.com:443/a", "https://example.com/a"),
    ("http://example.com:443/a", "http://example.com:443/a"),
    ("http://example.com:8080/a", "http://example.com:8080/a"),
    ("http://example.com./a#section-2", "http://example.com/a"),
    # http and https stay distinct on unknown hosts
    ("https://example.com/a", "https://example.com/a"),
    # tracking parameters, sorted query
    (
        "http://example.com/a?utm_source=tg&b=2&UTM_Medium=x&a=1&fbclid=F&gclid=G&yclid=Y"
        "&_openstat=O&from=rss&ref=home",
        "http://example.com/a?a=1&b=2",
    ),
    ("http://example.com/a?utm_campaign=x", "http://example.com/a"),
    ("http://example.com/a?reference=1&fromage=2", "http://example.com/a?fromage=2&reference=1"),
    ("http://example.com/a?", "http://example.com/a"),
    # trailing slashes
    ("http://example.com/a/b/", "http://example.com/a/b"),
    ("http://example.com/a//", "http://example.com/a"),
    ("http://example.com/", "http://example.com/"),
    ("http://example.com", "http://example.com/"),
    # percent-encoding
    ("http://example.com/%7euser/a%2fb", "http://example.com/~user/a%2Fb"),
    (
        "http://example.com/путь?q=шос",
        "http://example.com/%D0%BF%D1%83%D1%82%D1%8C?q=%D1%88%D0%BE%D1%81",
    ),
    (
        "http://example.com/%d0%bf%d1%83%d1%82%d1%8c",
        "http://example.com/%D0%BF%D1%83%D1%82%D1%8C",
    ),
    ("http://example.com/a b", "http://example.com/a%20b"),
    # Infoshos article URLs
    ("http://infoshos.sample.test/en/?idn=123", "http://infoshos.sample.test/en/?idn=123"),
    ("http://infoshos.sample.test/en/print.php?idn=123", "http://infoshos.sample.test/en/?idn=123"),
    ("http://infoshos.sample.test/ru/index.php?idn=77", "http://infoshos.sample.test/ru/?idn=77"),
    ("http://infoshos.sample.test/ru?idn=77", "http://infoshos.sample.test/ru/?idn=77"),
    ("https://infoshos.sample.test/ru/?idn=77", "http://infoshos.sample.test/ru/?idn=77"),
    (
        "http://INFOSHOS.sample.test:80/en/print.php?lang=en&idn=0123&utm_source=x#top",
        "http://infoshos.sample.test/en/?idn=123",
    ),
    ("https://infoshos.ru/en/?idn=5", "http://www.infoshos.ru/en/?idn=5"),
    ("http://www.infoshos.ru/ru/print.php?idn=5", "http://www.infoshos.ru/ru/?idn=5"),
    # Infoshos non-article URLs: generic rules only
    ("http://infoshos.sample.test/en/news/?page=2", "http://infoshos.sample.test/en/news?page=2"),
    ("http://infoshos.sample.test/en/?page=2", "http://infoshos.sample.test/en?page=2"),
    ("http://infoshos.sample.test/rss/rss_en.xml", "http://infoshos.sample.test/rss/rss_en.xml"),
    # Secretariat
    (
        "https://eng.sectsco.sample.test/news/20190312/512345.html",
        "https://eng.sectsco.sample.test/20190312/512345.html",
    ),
    (
        "http://RUS.sectsco.sample.test/20190312/512345.html/",
        "https://rus.sectsco.sample.test/20190312/512345.html",
    ),
    (
        "http://chn.sectsco.org/news/20190312/512345.html?utm_source=wechat",
        "https://chn.sectsco.org/20190312/512345.html",
    ),
    (
        "https://eng.sectsco.org/news/?offset=10",
        "https://eng.sectsco.org/news?offset=10",
    ),
    # the old-path rule is for the Secretariat only
    (
        "https://example.com/news/20190312/512345.html",
        "https://example.com/news/20190312/512345.html",
    ),
]


@pytest.mark.parametrize(("url", "expected"), CASES)
def test_canonical_url(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


@pytest.mark.parametrize("url", [u for u, _ in CASES])
def test_idempotent(url: str) -> None:
    once = canonical_url(url)
    assert canonical_url(once) == once


def test_spellings_of_one_article_share_an_id() -> None:
    spellings = [
        "http://infoshos.sample.test/en/?idn=42",
        "https://infoshos.sample.test/en/print.php?idn=42",
        "http://infoshos.sample.test/en/index.php?idn=42&utm_source=rss",
        "http://infoshos.sample.test/en?idn=042#comments",
    ]
    assert len({article_id(canonical_url(u)) for u in spellings}) == 1
    sectsco = [
        "https://eng.sectsco.sample.test/20190312/512345.html",
        "https://eng.sectsco.sample.test/news/20190312/512345.html",
        "http://eng.sectsco.sample.test/news/20190312/512345.html?from=main",
    ]
    assert len({article_id(canonical_url(u)) for u in sectsco}) == 1


def test_distinct_articles_stay_distinct() -> None:
    urls = [
        "http://infoshos.sample.test/en/?idn=42",
        "http://infoshos.sample.test/en/?idn=43",
        "http://infoshos.sample.test/ru/?idn=42",
        "http://infoshos.sample.test/en/?idn=420",
        "http://www.infoshos.ru/en/?idn=42",
        "https://eng.sectsco.sample.test/20190312/512345.html",
        "https://rus.sectsco.sample.test/20190312/512345.html",
        "https://eng.sectsco.sample.test/20190313/512345.html",
        "https://eng.sectsco.sample.test/20190312/512346.html",
        "http://example.com/a?id=1",
        "http://example.com/a?id=2",
        "https://example.com/a?id=1",
        "http://example.com/a?id=1&page=2",
    ]
    canon = [canonical_url(u) for u in urls]
    assert len(set(canon)) == len(urls)
    assert len({article_id(c) for c in canon}) == len(urls)


def test_article_id() -> None:
    url = "http://infoshos.sample.test/en/?idn=42"
    assert article_id(url) == hashlib.sha256(url.encode()).hexdigest()[:16]
    assert len(article_id(url)) == 16
    assert int(article_id(url), 16) >= 0
    assert article_id(url) != article_id(url + "0")


def test_sample_site_canonical_urls_are_fixed_points() -> None:
    model = pytest.importorskip("infoshos.spiders.sample_site.model")
    urls = [a.canonical_url for a in model.load_articles()]
    assert urls
    assert [canonical_url(u) for u in urls] == urls
    assert len({article_id(u) for u in urls}) == len(urls)


# -- every real URL form of the live portals (../shared/research/real-portals.md) -------------

REAL_FORMS = {
    "https://eng.sectsco.org/20230505/941940.html": [
        "https://eng.sectsco.org/20230505/941940.html",
        "http://eng.sectsco.org/news/20230505/941940.html",
        "https://eng.sectsco.org/20230505/SCO-Secretary-General-Zhang-Mings-remarks-941940.html",
        "https://eng.sectsco.org/political/20230505/941940/SCO-Secretary-General-remarks.html",
        "https://eng.sectsco.org./20230505/941940.html",
        "http://ENG.sectsco.org.:80/news/20230505/941940.html/?utm_source=x",
    ],
    "https://rus.sectsco.org/20230831/953905.html": [
        "https://rus.sectsco.org/20230831/Vstrecha-General-nogo-sekretarya-Kazakhstan--953905.html",
        "https://rus.sectsco.org/cultural/20230831/953905/Vstrecha.html",
        "https://rus.sectsco.org/media_SCO/20230831/953905/vstrecha.html",
        "https://rus.sectsco.org/news/20230831/953905.html",
    ],
    "https://eng.sectsco.org/20240704/1460010.html": [
        "https://eng.sectsco.org./20240704/1460010.html",
        "http://eng.sectsco.org./20240704/1460010.html",
    ],
    "http://www.infoshos.ru/en/?idn=15702": [
        "http://infoshos.ru/en/?idn=15702",
        "https://www.infoshos.ru/en/?idn=15702",
        "http://infoshos.ru/en/index.php?idn=15702",
        "http://www.infoshos.ru/en/index.php?idn=15702",
        "http://infoshos.ru/en/print.php?idn=15702",
        "http://www.infoshos.ru./en/print.php?idn=015702",
    ],
    "https://ecrats.org/en/press/news/2545": [
        "https://ecrats.org/en/press/news/2545/",
        "https://ecrats.org/en/press/news/2545",
        "https://www.ecrats.org/en/press/news/2545/",
        "http://www.ecrats.org/en/press/news/2545",
    ],
}


@pytest.mark.parametrize(
    ("url", "expected"), [(u, want) for want, forms in REAL_FORMS.items() for u in forms]
)
def test_real_url_forms_are_one_canonical_url_and_one_id(url: str, expected: str) -> None:
    assert canonical_url(url) == expected
    assert article_id(canonical_url(url)) == article_id(expected)
    assert canonical_url(expected) == expected


def test_real_forms_of_distinct_stories_stay_distinct() -> None:
    urls = [
        "https://eng.sectsco.org/20230505/941940.html",
        "https://rus.sectsco.org/20230505/941940.html",  # another edition
        "https://chn.sectsco.org/20230505/941940.html",
        "https://eng.sectsco.org/20230505/Remarks-941941.html",  # another ID
        "https://eng.sectsco.org/20230505/Remarks-and-more.html",  # no ID: left as it is
        "https://ecrats.org/en/press/news/2545",
        "https://ecrats.org/ru/press/news/2545",  # separate id spaces per language
        "http://www.infoshos.ru/ru/?idn=15702",
    ]
    assert len({canonical_url(u) for u in urls}) == len(urls)
    assert canonical_url(urls[4]) == urls[4]


@pytest.mark.parametrize(
    "url", ["http://example.org:99999/a", " http://example.org:abc/ ", "http://[::1/a"]
)
def test_url_key_is_the_url_itself_when_it_has_no_canonical_form(url: str) -> None:
    from infoshos.spiders import urls

    with pytest.raises(ValueError):
        canonical_url(url)
    assert url_key(url) == url.strip()
    # the spiders key URLs with this one function (remembering the last keys)
    assert urls.url_key.__wrapped__ is url_key
    assert urls.url_key(url) == url.strip()


def test_url_key_is_the_canonical_url_when_there_is_one() -> None:
    for url, expected in CASES:
        assert url_key(url) == expected
