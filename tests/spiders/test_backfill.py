"""Infoshos backfill by idn range (``--idn-from/--idn-to/--idn-gap``): the walk's rules on
responses built here, the runner against the bundled sample site (with and without a known
file), and the wiring (``crawl_command``, ``crawl_argv``, ``infoshos run``)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import scrapy
from scrapy.http import HtmlResponse

from infoshos.spiders.crawl import ArgumentError, crawl_command, parse_args
from infoshos.spiders.incremental import KnownPage
from infoshos.spiders.infoshos import InfoshosSpider, portal_root
from infoshos.spiders.urls import url_key

LOCAL = "http://127.0.0.1:8000"
CANONICAL = "http://infoshos.sample.test/"
MAP = [(f"{LOCAL}/infoshos/", CANONICAL)]
ARTICLE = (
    '<html><body><div class="center-column-wrap"><table><tr><td class="text">'
    '<h1 class="title">T</h1><div class="date">01.02.2019 10:00</div><p>Text '
    '<a href="/infoshos/en/?idn=999">other article</a> <a href="/files/x.pdf">pdf</a></p>'
    "</td></tr></table></div></body></html>"
)
EMPTY = "<html><body><p>No such news.</p></body></html>"


# -- the walk on built responses ----------------------------------------------------------------


def spider(**kw: Any) -> InfoshosSpider:
    kw.setdefault("start_urls", [f"{LOCAL}/infoshos/rss/rss_en.xml"])
    return InfoshosSpider(source="s", url_map=MAP, **kw)


def start(sp: InfoshosSpider) -> list[scrapy.Request]:
    async def collect() -> list[scrapy.Request]:
        return [r async for r in sp.start()]

    return asyncio.run(collect())


def answer(sp: InfoshosSpider, req: scrapy.Request, status: int, body: str = "") -> list[Any]:
    resp = HtmlResponse(
        req.url, status=status, body=body.encode(), request=req,
        headers={"Content-Type": "text/html"},
    )  # fmt: skip
    return list(sp.parse(resp))


def idns(requests: list[Any]) -> list[tuple[int, str]]:
    return [r.meta["infoshos_idn"] for r in requests if isinstance(r, scrapy.Request)]


def test_portal_root_and_idn_urls_go_to_the_mirror() -> None:
    assert portal_root("http://www.infoshos.ru/rss/rss_ru.xml") == "http://www.infoshos.ru/"
    assert portal_root("http://x.test/portal/en/news/?page=1") == "http://x.test/portal/"
    assert portal_root("http://x.test/") == "http://x.test/"
    sp = spider(idn_from=5, idn_to=6, idn_gap=5)
    reqs = start(sp)
    assert [r.url for r in reqs] == [
        f"{LOCAL}/infoshos/en/?idn=5", f"{LOCAL}/infoshos/ru/?idn=5",
        f"{LOCAL}/infoshos/en/?idn=6", f"{LOCAL}/infoshos/ru/?idn=6",
    ]  # fmt: skip
    assert all(r.meta["page_type"] == "article" for r in reqs)
    printed = start(spider(idn_from=5, idn_to=5, prefer_print=True))
    assert [r.url for r in printed] == [
        f"{LOCAL}/infoshos/en/print.php?idn=5", f"{LOCAL}/infoshos/ru/print.php?idn=5",
    ]  # fmt: skip
    assert {r.meta["page_type"] for r in printed} == {"print"}
    # Without a range the spider starts from its start URLs as before.
    assert [r.url for r in start(spider())] == [f"{LOCAL}/infoshos/rss/rss_en.xml"]


def test_walk_extends_from_hits_stops_after_the_gap_and_drops_misses() -> None:
    sp = spider(idn_from=10, idn_to=100, idn_gap=3)
    reqs = {r.meta["infoshos_idn"]: r for r in start(sp)}
    assert sorted(reqs) == [(i, lang) for i in (10, 11, 12) for lang in ("en", "ru")]
    # 10: en missing (404), ru is an article -> a row, reach extends to 13.
    assert answer(sp, reqs[10, "en"], 404) == []
    out = answer(sp, reqs[10, "ru"], 200, ARTICLE)
    rows = [x for x in out if isinstance(x, dict) and not x["skip_reason"]]
    assert [r["status"] for r in rows] == [200]
    assert rows[0]["url"] == f"{CANONICAL}ru/?idn=10" and rows[0]["page_type"] == "article"
    new = idns(out)  # the link to idn 999 in the text is not followed
    assert new == [(13, "en"), (13, "ru")]
    reqs.update({r.meta["infoshos_idn"]: r for r in out if isinstance(r, scrapy.Request)})
    # 11: a 200 page without an article and a 410: a miss, no rows.
    assert answer(sp, reqs[11, "en"], 200, EMPTY) == []
    assert answer(sp, reqs[11, "ru"], 410) == []
    # 12: a server error is a row (a real failure), not an article: no extension.
    out = answer(sp, reqs[12, "en"], 503)
    assert [x["status"] for x in out if isinstance(x, dict)] == [503] and idns(out) == []
    assert answer(sp, reqs[12, "ru"], 404) == []
    # 13: nothing either -> 11, 12, 13 without an article: the walk is over.
    assert answer(sp, reqs[13, "en"], 404) == [] and answer(sp, reqs[13, "ru"], 404) == []
    assert sp._idn_next == 14 and max(sp.idn_outcomes) == 13
    assert sp.idn_missing == 2  # 11 and 13; 12 had a failure, 10 an article


def test_article_links_are_checked_not_followed_in_a_backfill() -> None:
    sp = spider(idn_from=1, idn_to=1)
    req = start(sp)[0]
    body = ARTICLE.replace("/files/x.pdf", "/infoshos/files/x.pdf")
    out = answer(sp, req, 200, body)
    assert not [r for r in out if isinstance(r, scrapy.Request) and "999" in r.url]
    skips = [x for x in out if isinstance(x, dict) and x["skip_reason"]]
    assert [(s["skip_reason"], s["url"]) for s in skips] == [
        ("not_article", f"{CANONICAL}files/x.pdf")
    ]


def test_known_idns_are_skipped_as_found_and_a_known_404_is_a_row() -> None:
    known = {
        url_key(f"{CANONICAL}ru/?idn=20"): KnownPage(is_article=True),
        url_key(f"{CANONICAL}en/print.php?idn=21"): KnownPage(is_article=True),
        url_key(f"{CANONICAL}en/?idn=22"): KnownPage(is_article=False),
    }
    sp = spider(idn_from=20, idn_to=30, idn_gap=2, known=known)
    reqs = {r.meta["infoshos_idn"]: r for r in start(sp)}
    # 20 and 21 known (21 through its print URL): no request, they count as found -> 22, 23.
    assert sorted(reqs) == [(i, lang) for i in (22, 23) for lang in ("en", "ru")]
    assert sp.known_skipped == {
        url_key(f"{CANONICAL}ru/?idn=20"),
        url_key(f"{CANONICAL}en/?idn=21"),
    }
    # 22 en is known (as a non-article): its 404 is a row, not a silent miss.
    out = answer(sp, reqs[22, "en"], 404)
    assert [x["status"] for x in out if isinstance(x, dict)] == [404]
    for key in ((22, "ru"), (23, "en"), (23, "ru")):
        assert answer(sp, reqs[key], 404) == []
    assert sp.idn_missing == 1  # 23 only
    # full: known articles are requested again (conditionally), in range only.
    full = spider(idn_from=20, idn_to=20, known=known, full=True)
    assert [r.url for r in start(full)] == [
        f"{LOCAL}/infoshos/en/?idn=20", f"{LOCAL}/infoshos/ru/?idn=20",
    ]  # fmt: skip


def test_bad_backfill_arguments() -> None:
    with pytest.raises(ValueError):
        spider(idn_from=5)
    with pytest.raises(ValueError):
        spider(idn_from=6, idn_to=5)
    with pytest.raises(ValueError):
        spider(idn_from=1, idn_to=5, idn_gap=0)
    base = ["--spider", "infoshos", "--source", "s", "--start-url", f"{LOCAL}/", "--out", "o"]
    args = parse_args([*base, "--idn-from", "1", "--idn-to", "9", "--idn-gap", "4"])
    assert (args.idn_from, args.idn_to, args.idn_gap) == (1, 9, 4)
    for extra in (
        ["--idn-from", "1"],
        ["--idn-to", "1"],
        ["--idn-gap", "3"],
        ["--idn-from", "9", "--idn-to", "1"],
        ["--idn-from", "1", "--idn-to", "9", "--idn-gap", "0"],
    ):
        with pytest.raises(ArgumentError):
            parse_args([*base, *extra])
    other = ["--spider", "sectsco", *base[2:], "--idn-from", "1", "--idn-to", "2"]
    with pytest.raises(ArgumentError, match="infoshos spider only"):
        parse_args(other)


# -- wiring ----------------------------------------------------------------------------------


def test_crawl_command_crawl_argv_and_cli_carry_the_range(tmp_path: Path) -> None:
    argv = crawl_command("infoshos", "s", [f"{LOCAL}/"], "o.parquet", idn_from=3, idn_to=8)
    assert argv[-4:] == ["--idn-from", "3", "--idn-to", "8"]
    argv = crawl_command("infoshos", "s", [f"{LOCAL}/"], "o", idn_from=3, idn_to=8, idn_gap=2)
    assert argv[-2:] == ["--idn-gap", "2"]

    from infoshos.flows.cli import build_parser, main
    from infoshos.flows.crawl_stage import CrawlOptions, CrawlPlan, crawl_argv
    from infoshos.flows.sources import Source

    opts = CrawlOptions(idn_from=3, idn_to=8, idn_gap=2)
    infoshos = Source("i", "infoshos", "infoshos", start_urls=(f"{LOCAL}/",))
    sectsco = Source("c", "sectsco", "sectsco", start_urls=(f"{LOCAL}/",))
    got = crawl_argv(CrawlPlan(infoshos, [f"{LOCAL}/"], options=opts), tmp_path / "o")
    assert got[-6:] == ["--idn-from", "3", "--idn-to", "8", "--idn-gap", "2"]
    got = crawl_argv(CrawlPlan(sectsco, [f"{LOCAL}/"], options=opts), tmp_path / "o")
    assert "--idn-from" not in got  # other spiders ignore the range

    args = build_parser().parse_args(["run", "--idn-from", "3", "--idn-to", "8", "--idn-gap", "2"])
    assert (args.idn_from, args.idn_to, args.idn_gap) == (3, 8, 2)
    wh = str(tmp_path / "wh")
    assert main(["run", "--warehouse", wh, "--idn-from", "9", "--idn-to", "3"]) == 2
    assert main(["run", "--warehouse", wh, "--idn-from", "3"]) == 2
    with pytest.raises(SystemExit):
        build_parser().parse_args(["run", "--idn-gap", "0"])


# -- the runner against the sample site ------------------------------------------------------


def _crawl(argv: list[str]) -> dict[str, Any]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    counts: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return counts


def _write_known(rows: list[dict[str, Any]], path: Path) -> Path:
    urls = [r["url"] for r in rows if r["status"] == 200 and r["page_type"] == "article"]
    pq.write_table(pa.table({"url": urls, "is_article": [True] * len(urls)}), path)
    return path


@pytest.mark.slow
def test_backfill_of_the_sample_site_fetches_the_range_and_stops_after_the_gap(
    tmp_path: Path,
) -> None:
    from infoshos.spiders.sample_site import SampleSite, load_articles, start_urls, url_map

    infoshos = [a for a in load_articles() if a.portal == "infoshos"]

    def articles_in(lo: int, hi: int) -> set[str]:
        """What answers 200 at these idns (broken pages too: the flow rejects those)."""
        return {
            a.canonical_url
            for a in infoshos
            if a.idn is not None and lo <= a.idn <= hi and a.broken != "missing_404"
        }

    def crawl(base: str, out: Path, lo: int, hi: int, gap: int, **kw: Any) -> dict[str, Any]:
        argv = crawl_command(
            "infoshos", "infoshos-sample", start_urls(base)["infoshos-sample"], out,
            url_map=url_map(base), delay=0, concurrency=8, idn_from=lo, idn_to=hi,
            idn_gap=gap, **kw,
        )  # fmt: skip
        return _crawl(argv)

    with SampleSite(port=0) as site:
        base = site.base_url
        # 3225..3235 hold en and ru articles (one of them broken); 3236..3239 none (3238's
        # article answers 404): four without an article end the walk before 3240's.
        out = tmp_path / "first.parquet"
        counts = crawl(base, out, 3225, 3300, 4)
        rows = pq.read_table(out).to_pylist()
        fetched = {r["url"] for r in rows if r["status"] == 200}
        assert fetched == articles_in(3225, 3239)
        assert {a for a in articles_in(3225, 3239) if "/ru/" in a} and {
            a for a in articles_in(3225, 3239) if "/en/" in a
        }
        assert all(r["page_type"] == "article" and r["status"] == 200 for r in rows), rows
        assert not [r for r in rows if r["skip_reason"] is None and r["status"] != 200]
        assert counts["idn_last"] == 3239 and counts["idn_missing"] == 10
        assert counts["pages"] == len(fetched) == 5 and counts["errors"] == 0

        # The same range again with the known file: no known article is fetched again, the
        # walk reaches as far (known idns count as found).
        known = _write_known(rows, tmp_path / "known.parquet")
        out2 = tmp_path / "second.parquet"
        counts = crawl(base, out2, 3225, 3300, 4, known=str(known))
        assert pq.read_table(out2).num_rows == 0
        assert counts["known_skipped"] == 5 and counts["idn_missing"] == 10
        assert counts["idn_last"] == 3239

        # A range starting in a gap shorter than --idn-gap goes on up to --idn-to.
        out3 = tmp_path / "third.parquet"
        counts = crawl(base, out3, 3110, 3130, 12)
        fetched = {r["url"] for r in pq.read_table(out3).to_pylist() if r["status"] == 200}
        assert fetched == articles_in(3110, 3130) and len(fetched) == 4
        assert counts["idn_last"] == 3130 and counts["idn_missing"] == 17
