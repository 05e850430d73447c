"""Sources as a typed model (infoshos.flows.sources): every value checked when the file is read,
one line per error naming the file, the source and the key; ``infoshos sources --check``."""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping
from pathlib import Path

import pytest
import scrapy
import yaml
from paths import REPO

from infoshos.flows.cli import main
from infoshos.flows.sources import (
    SPIDERS,
    ConfigError,
    Source,
    adhoc_source,
    load_sources,
    read_sources_file,
)
from infoshos.spiders.crawl import SPIDERS as SPIDER_CLASSES

GOOD = {"spider": "generic", "start_urls": ["https://news.example/"]}


def write(tmp_path: Path, entry: Mapping[str, object], name: str = "mine") -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump({"sources": {name: dict(entry)}}), "utf-8")
    return path


def error_of(tmp_path: Path, entry: dict[str, object]) -> str:
    path = write(tmp_path, entry)
    with pytest.raises(ConfigError) as err:
        load_sources(path)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: source 'mine': "), message
    return message


def test_unknown_key_names_the_key_the_source_and_the_file(tmp_path: Path) -> None:
    message = error_of(tmp_path, {**GOOD, "shedule": "0 6 * * *"})
    assert "unknown key 'shedule'" in message


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("schedule", "61 6 * * *", "schedule: '61 6 * * *' is not a cron expression"),
        ("schedule", "every day", "is not a cron expression"),
        ("timezone", "Europe/Moskow", "timezone: 'Europe/Moskow' is not an IANA time zone"),
        ("timezone", "+03:00", "is not an IANA time zone"),
        ("start_urls", ["ftp://news.example/"], "start_urls: 'ftp://news.example/' is not an"),
        ("start_urls", ["news.example/feed"], "is not an http(s) URL"),
        (
            "start_urls",
            ["http://news.example:99999/"],
            "start_urls: 'http://news.example:99999/' is",
        ),
        ("start_urls", ["http://news.example:http/"], "is not a URL: Port could not be cast"),
        ("url_map", ["http://127.0.0.1:70000/=https://news.example/"], "url_map: 'http://127."),
        ("url_map", ["http://127.0.0.1:1/=news.example/"], "url_map: 'news.example/'"),
        ("article_patterns", ["^/(en|ru/?idn=\\d+$"], "article_patterns: '^/(en|ru/?idn="),
        ("list_patterns", ["*"], "list_patterns: '*' is not a regular expression"),
        ("list_css", "div[[", "list_css: 'div[[' is not a CSS selector"),
        ("spider", "scrapy", "spider: unknown spider 'scrapy'"),
        ("delay", -1, "delay: must be >= 0"),
        ("delay", float("nan"), "delay: Input should be a finite number"),
        ("delay", float("inf"), "delay: Input should be a finite number"),
        ("delay", "nan", "delay: Input should be a finite number"),
        ("delay", "-inf", "delay: Input should be a finite number"),
        ("concurrency", 0, "concurrency: must be >= 1"),
        ("list_depth", "deep", "list_depth: Input should be a valid integer"),
        ("idn_ahead", True, "idn_ahead applies to the infoshos spider only"),
    ],
)
def test_bad_values_are_one_line_errors(
    tmp_path: Path, field: str, value: object, expected: str
) -> None:
    assert expected in error_of(tmp_path, {**GOOD, field: value})


@pytest.mark.parametrize("delay", [float("nan"), float("inf"), -0.5])
def test_a_source_built_in_code_refuses_a_delay_that_is_not_a_finite_number_ge_0(
    delay: float,
) -> None:
    with pytest.raises(ValueError, match="delay"):
        Source("x", "generic", start_urls=("https://news.example/",), delay=delay)


def test_sources_check_refuses_a_nan_delay_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("sources:\n  mine:\n    start_urls: https://news.example/\n    delay: .nan\n")
    assert main(["sources", "--check", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"infoshos: error: {bad}: source 'mine': delay: Input should be a finite number"]


@pytest.mark.parametrize("spider", SPIDERS)
def test_every_spider_a_source_may_name_is_a_spider_class_of_that_name(spider: str) -> None:
    module_name, class_name = SPIDER_CLASSES[spider].split(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    assert issubclass(cls, scrapy.Spider) and cls.name == spider
    assert Source("s", spider, start_urls=("https://news.example/",)).spider == spider


def test_a_good_source_is_typed_frozen_and_hashable(tmp_path: Path) -> None:
    entry = {
        **GOOD,
        "timezone": "Asia/Tashkent",
        "schedule": "45 6 * * *",
        "article_patterns": r"^/news/\d+$",
        "list_patterns": [r"^/$", r"^/news\?page=\d+$"],
        "list_css": "li.news",
        "next_css": "a[rel=next]",
        "list_depth": 3,
    }
    src = load_sources(write(tmp_path, entry))["mine"]
    assert src.article_patterns == (r"^/news/\d+$",)
    assert src.list_patterns == (r"^/$", r"^/news\?page=\d+$")
    assert (src.timezone, src.list_css, src.next_css, src.list_depth) == (
        "Asia/Tashkent", "li.news", "a[rel=next]", 3,
    )  # fmt: skip
    assert src.allowed_domains == ("news.example",)
    assert src.style == "generic"
    assert hash(src) == hash(load_sources(write(tmp_path, entry))["mine"])
    with pytest.raises(AttributeError):
        src.delay = 0  # type: ignore[misc]
    assert src.to_json()["article_patterns"] == [r"^/news/\d+$"]
    assert src.to_json()["timezone"] == "Asia/Tashkent"
    # positional construction, as callers do
    # no zone set: the site rules' own zone (Moscow for infoshos), UTC for generic pages
    assert Source("i", "infoshos", "infoshos", start_urls=("http://a.test/",)).timezone is None


def test_built_in_sources_time_zones_and_patterns() -> None:
    sources = load_sources()
    assert {n: s.timezone for n, s in sources.items()} == {
        "infoshos-sample": "Europe/Moscow",
        "sectsco-sample": "Europe/Moscow",
        "infoshos": "Europe/Moscow",
        "sectsco": "Europe/Moscow",
        "ecrats": "Asia/Tashkent",
    }
    for name in ("infoshos", "sectsco", "ecrats"):
        src = sources[name]
        assert src.article_patterns and src.list_patterns, name
        # only confirmed or standard entry points: feeds, home pages, sitemaps
        for url in src.start_urls:
            path = url.split("/", 3)[3]
            assert path in ("", "en/", "ru/", "sitemap.xml", "rss/rss_ru.xml"), url
    assert sources["infoshos"].idn_ahead


CONFIRMED = {
    "infoshos": [
        "/en/?idn=15702", "/ru/?idn=34769", "/en/?idn=24567",
        "/en/index.php?idn=15702", "/ru/print.php?idn=34769",
    ],
    "sectsco": [
        "/news/20190614/555186.html", "/20190614/555186.html",
        "/20230505/SCO-Secretary-General-Zhang-Mings-remarks-941940.html",
        "/20230831/Vstrecha-Kazakhstan--953905.html",
        "/political/20230710/950979/Some-slug.html", "/cultural/20230710/950979/x.html",
        "/media_SCO/20230710/950979/x.html",
    ],
    "ecrats": ["/en/press/news/2545/", "/ru/press/news/17316/", "/ru/press/news/17316"],
}  # fmt: skip
HOSTS = {
    "infoshos": ["http://www.infoshos.ru", "http://infoshos.ru", "https://infoshos.ru"],
    "sectsco": ["https://eng.sectsco.org", "http://rus.sectsco.org", "https://eng.sectsco.org."],
    "ecrats": ["https://ecrats.org", "https://www.ecrats.org"],
}
NOT_ARTICLES = {
    "infoshos": ["/en/", "/rss/rss_ru.xml", "/en/news/?page=2"],
    "sectsco": ["/", "/news/?offset=10", "/documents/?offset=10"],
    "ecrats": ["/en/about/history/", "/en/press/news/", "/en/press/news/?PAGEN_1=2"],
}


@pytest.mark.parametrize("name", sorted(CONFIRMED))
def test_live_patterns_accept_every_confirmed_url_form(name: str) -> None:
    from infoshos.spiders.urls import url_target

    src = load_sources()[name]
    articles = [re.compile(p) for p in src.article_patterns]
    for host in HOSTS[name]:
        for path in CONFIRMED[name]:
            target = url_target(host + path)
            assert any(p.search(target) for p in articles), host + path
        for path in NOT_ARTICLES[name]:
            target = url_target(host + path)
            assert not any(p.search(target) for p in articles), host + path


def test_adhoc_source_takes_a_timezone() -> None:
    assert adhoc_source(["https://news.example/"]).timezone is None  # read as UTC
    src = adhoc_source(["https://news.example/"], timezone="Asia/Almaty")
    assert (src.name, src.spider, src.timezone) == ("web:news.example", "generic", "Asia/Almaty")
    with pytest.raises(ConfigError, match="not an IANA time zone"):
        adhoc_source(["https://news.example/"], timezone="Mars/Olympus")


def test_sources_check_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write(tmp_path, GOOD)
    assert main(["sources", "--check", str(good)]) == 0
    assert "1 sources ok (mine)" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"sources": {"mine": {**GOOD, "shedule": "x"}}}), "utf-8")
    assert main(["sources", "--check", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith(f"infoshos: error: {bad}: source 'mine': unknown key 'shedule'")
    assert main(["sources", "--check", str(tmp_path / "missing.yaml")]) == 2
    assert "cannot read sources file" in capsys.readouterr().err
    built_in = REPO / "flows" / "sources.yaml"
    assert main(["sources", "--check", str(built_in)]) == 0
    assert read_sources_file(built_in).keys() == load_sources().keys()


def test_the_derived_allowed_domains_keep_the_port(tmp_path: Path) -> None:
    from infoshos.spiders.generic import GenericSpider

    entry = {"start_urls": ["http://127.0.0.1:18081/news/"], "spider": "generic"}
    src = load_sources(write(tmp_path, entry))["mine"]
    assert src.allowed_domains == ("127.0.0.1:18081",)
    spider = GenericSpider(
        source="mine", start_urls=list(src.start_urls), allowed_domains=src.allowed_domains
    )
    assert spider.is_onsite("http://127.0.0.1:18081/news/1")
    assert not spider.is_onsite("http://127.0.0.1/news/1")  # port 80 is another site
    assert not spider.is_onsite("http://127.0.0.1:18082/news/1")
