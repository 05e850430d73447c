"""The corpus of unseen layouts (tests/corpus): our clean stage vs trafilatura in the same run.

    .venv/bin/python bench/corpus_eval.py [--json OUT]

Per site: pages, true articles, mean and minimum word F1 over the true articles (bag of ``\\w+``
tokens, case kept, multiset intersection; a rejected article scores 0) for ``clean_page`` with
the site's style and timezone (the encoding detected) and for ``trafilatura.extract`` with its
defaults on the same bytes; then the true articles we reject, the non-articles we take, and the
datelines whose instant (time of day and zone) we keep. The floors of issue 11 are F1 >= 0.98 per
article, no true article rejected, no non-article taken.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import trafilatura

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from corpus import Site, clean, load_corpus, page_record, published, word_f1


@dataclass
class SiteScore:
    site: str
    pages: int = 0
    articles: int = 0
    ours: dict[str, float] = field(default_factory=dict)  # path -> F1
    theirs: dict[str, float] = field(default_factory=dict)
    rejected_articles: list[str] = field(default_factory=list)
    taken_non_articles: list[str] = field(default_factory=list)
    dates_kept: int = 0

    @staticmethod
    def mean(scores: dict[str, float]) -> float:
        return sum(scores.values()) / len(scores) if scores else 0.0


def trafilatura_text(site: Site, path: str) -> str:
    record = page_record(site, path)
    return trafilatura.extract(record["body"], url=record["url"], favor_precision=False) or ""


def score_site(site: Site) -> SiteScore:
    res = SiteScore(site.name, pages=len(site.truth), articles=len(site.articles()))
    for path, truth in site.truth.items():
        result = clean(site, path)
        if not truth["article"]:
            if result.article is not None:
                res.taken_non_articles.append(path)
            continue
        article = result.article or {}
        if result.article is None:
            res.rejected_articles.append(path)
        res.ours[path] = word_f1(article.get("text") or "", truth["text"])
        res.theirs[path] = word_f1(trafilatura_text(site, path), truth["text"])
        when = article.get("published_at")
        if when is not None and when.tzinfo is not None and when == published(truth):
            res.dates_kept += 1
    return res


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    args = parser.parse_args(argv)
    sites = load_corpus()
    if not sites:
        print("no corpus sites found under tests/corpus", file=sys.stderr)
        return 2
    scores = [score_site(site) for site in sites]
    print(f"{len(scores)} sites, {sum(s.pages for s in scores)} pages")
    print(
        f"{'site':14} {'pages':>5} {'arts':>4} {'ours F1':>8} {'min':>6} {'traf F1':>8}"
        f" {'min':>6} {'rejected':>8} {'taken':>5} {'dates':>5}"
    )
    for s in scores:
        print(
            f"{s.site:14} {s.pages:5d} {s.articles:4d} {s.mean(s.ours):8.3f}"
            f" {min(s.ours.values(), default=0):6.3f} {s.mean(s.theirs):8.3f}"
            f" {min(s.theirs.values(), default=0):6.3f} {len(s.rejected_articles):8d}"
            f" {len(s.taken_non_articles):5d} {s.dates_kept:3d}/{s.articles}"
        )
    ours = {f"{s.site}/{p}": v for s in scores for p, v in s.ours.items()}
    theirs = {f"{s.site}/{p}": v for s in scores for p, v in s.theirs.items()}
    print(
        f"all: mean F1 ours {SiteScore.mean(ours):.3f} (min {min(ours.values()):.3f}),"
        f" trafilatura {SiteScore.mean(theirs):.3f} (min {min(theirs.values()):.3f});"
        f" articles below 0.98: ours {sum(v < 0.98 for v in ours.values())},"
        f" trafilatura {sum(v < 0.98 for v in theirs.values())} of {len(ours)};"
        f" rejected articles {sum(len(s.rejected_articles) for s in scores)},"
        f" non-articles taken {sum(len(s.taken_non_articles) for s in scores)},"
        f" datelines kept {sum(s.dates_kept for s in scores)}/{len(ours)}"
    )
    if args.json:
        args.json.write_text(json.dumps([asdict(s) for s in scores], indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
