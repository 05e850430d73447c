"""Article-body extraction benchmark: our generic extractor vs trafilatura, same pages, same run.

    .venv/bin/python bench/extraction.py [PATH] [--json OUT] [--worst N] [--repeat K]

PATH is the benchmark folder (``html/<id>.html.gz`` + ``ground-truth.json``); default
``../shared/benchmarks/article-extraction`` next to the repository. The metric is the one its
README defines: ``\\w+`` tokens (case kept), 4-token shingles counted with repeats (a 1-3 token
text is one shorter shingle), per-page precision/recall from the multiset intersection, precision
averaged over pages with a non-empty prediction, recall over pages with a non-empty truth, F1 of
the two means. Pages are decompressed before timing; the time is extraction only, as wall time
and as this process's CPU time (``--repeat K`` keeps the best of K interleaved runs by CPU
time; on a shared machine the CPU ratio is the one to read).
``--worst N`` lists the N pages where each extractor's page F1 is lowest.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import trafilatura

from infoshos.flows.clean.generic import extract_generic
from infoshos.flows.clean.sites import NotArticle

DEFAULT_PATH = (
    Path(__file__).resolve().parent.parent.parent / "shared/benchmarks/article-extraction"
)
_TOKEN_RE = re.compile(r"\w+")


def shingles(text: str, n: int = 4) -> Counter[tuple[str, ...]]:
    tokens = _TOKEN_RE.findall(text)
    if not tokens:
        return Counter()
    if len(tokens) < n:
        return Counter([tuple(tokens)])
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def page_scores(prediction: str, truth: str) -> tuple[float | None, float | None]:
    """(precision, recall) of one page; None where the README leaves the page out of the mean."""
    pred, gold = shingles(prediction), shingles(truth)
    if pred == gold:
        return (1.0 if pred else None), (1.0 if gold else None)
    tp = sum((pred & gold).values())
    precision = tp / sum(pred.values()) if pred else None
    recall = tp / sum(gold.values()) if gold else None
    return precision, recall


@dataclass
class Score:
    precision: float
    recall: float
    f1: float
    pages: int
    seconds: float
    per_page: dict[str, tuple[float | None, float | None]]
    cpu_seconds: float = 0.0  # CPU time of this process: other jobs on the machine do not count

    @property
    def pages_per_second(self) -> float:
        return self.pages / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms_per_page(self) -> float:
        return 1000 * self.cpu_seconds / self.pages if self.pages else 0.0


def aggregate(per_page: dict[str, tuple[float | None, float | None]]) -> tuple[float, float, float]:
    ps = [p for p, _ in per_page.values() if p is not None]
    rs = [r for _, r in per_page.values() if r is not None]
    precision = sum(ps) / len(ps) if ps else 0.0
    recall = sum(rs) / len(rs) if rs else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def load_pages(path: Path, ids: Iterable[str] | None = None) -> list[tuple[str, str, str, str]]:
    """[(id, url, html, truth)] from a benchmark folder."""
    truth = json.loads((path / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for page_id in ids if ids is not None else sorted(truth):
        with gzip.open(path / "html" / f"{page_id}.html.gz", "rt", encoding="utf-8") as fh:
            html = fh.read()
        pages.append((page_id, truth[page_id]["url"], html, truth[page_id]["articleBody"]))
    return pages


def ours(html: str, url: str) -> str:
    try:
        return "\n".join(extract_generic(html, url).paragraphs)
    except NotArticle:
        return ""


def theirs(html: str, url: str) -> str:
    return trafilatura.extract(html, url=url) or ""


def score(extractor: Callable[[str, str], str], pages: list[tuple[str, str, str, str]]) -> Score:
    per_page: dict[str, tuple[float | None, float | None]] = {}
    elapsed = cpu = 0.0
    for page_id, url, html, truth in pages:
        start, start_cpu = time.perf_counter(), time.process_time()
        prediction = extractor(html, url)
        elapsed += time.perf_counter() - start
        cpu += time.process_time() - start_cpu
        per_page[page_id] = page_scores(prediction, truth)
    precision, recall, f1 = aggregate(per_page)
    return Score(precision, recall, f1, len(pages), elapsed, per_page, cpu)


def page_f1(pr: tuple[float | None, float | None]) -> float:
    p, r = pr[0] or 0.0, pr[1] or 0.0
    return 2 * p * r / (p + r) if p + r else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("path", nargs="?", type=Path, default=DEFAULT_PATH)
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    parser.add_argument("--worst", type=int, default=0, help="list the N worst pages")
    parser.add_argument("--repeat", type=int, default=1, help="runs to time (best is kept)")
    args = parser.parse_args(argv)
    if not (args.path / "ground-truth.json").is_file():
        print(f"no benchmark at {args.path}", file=sys.stderr)
        return 2
    pages = load_pages(args.path)
    ours("<html><body><p>warm up</p></body></html>", "https://example.com/")  # imports, caches
    theirs("<html><body><p>warm up</p></body></html>", "https://example.com/")
    results: dict[str, Score] = {}
    for _ in range(max(1, args.repeat)):
        # interleaved so that machine load hits both alike
        for name, fn in (("infoshos generic", ours), ("trafilatura default", theirs)):
            run = score(fn, pages)
            if name not in results or run.cpu_seconds < results[name].cpu_seconds:
                results[name] = run
    print(f"{len(pages)} pages from {args.path}")
    header = f"{'extractor':22} {'precision':>9} {'recall':>7} {'F1':>7} {'pages/s':>8}"
    print(header + f" {'CPU ms/page':>12}")
    for name, res in results.items():
        print(
            f"{name:22} {res.precision:9.4f} {res.recall:7.4f} {res.f1:7.4f}"
            f" {res.pages_per_second:8.1f} {res.cpu_ms_per_page:12.2f}"
        )
    a, b = results["infoshos generic"], results["trafilatura default"]
    # CPU time, best of --repeat: what the extraction costs, whatever else runs on the machine
    print(f"speed ratio (ours / trafilatura, CPU time): {b.cpu_seconds / a.cpu_seconds:.2f}x")
    wall = a.pages_per_second / b.pages_per_second
    print(f"speed ratio (ours / trafilatura, wall time): {wall:.2f}x")
    print(f"F1 difference (ours - trafilatura): {a.f1 - b.f1:+.4f}")
    if args.worst:
        truth = json.loads((args.path / "ground-truth.json").read_text(encoding="utf-8"))
        for name, res in results.items():
            print(f"\nworst {args.worst} pages, {name} (page F1, P, R | other extractor's F1):")
            other = b if res is a else a
            ranked = sorted(res.per_page, key=lambda k: page_f1(res.per_page[k]))
            for page_id in ranked[: args.worst]:
                p, r = res.per_page[page_id]
                print(
                    f"  {page_f1(res.per_page[page_id]):.3f}  P={p or 0:.3f} R={r or 0:.3f}"
                    f" | {page_f1(other.per_page[page_id]):.3f}  {page_id[:12]}"
                    f"  {truth[page_id]['url'][:70]}"
                )
    if args.json:
        figures = {
            "pages": len(pages),
            "path": str(args.path),
            "results": {
                name: {
                    "precision": res.precision,
                    "recall": res.recall,
                    "f1": res.f1,
                    "pages_per_second": res.pages_per_second,
                    "cpu_ms_per_page": res.cpu_ms_per_page,
                    "per_page": {k: list(v) for k, v in res.per_page.items()},
                }
                for name, res in results.items()
            },
            "speed_ratio": b.cpu_seconds / a.cpu_seconds,
            "speed_ratio_wall": a.pages_per_second / b.pages_per_second,
        }
        args.json.write_text(json.dumps(figures, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
