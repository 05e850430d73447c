"""How ``cluster_articles`` scales: prints seconds and articles/s on synthetic articles.

    .venv/bin/python bench/dedup_scale.py [sizes...]     # default: 2000 10000 20000

Texts are 120-400 words drawn from a random vocabulary (Zipf-like, plus shared boilerplate
sentences); about 20% of the articles are injected near duplicates of another one (a few
words changed, a sentence dropped or a chrome line added) and 5% exact copies. Also prints
how many injected duplicates were clustered with their original (recall) and how many
clusters mix unrelated originals (false merges).
"""

from __future__ import annotations

import hashlib
import itertools
import random
import sys
import time
from collections import defaultdict

from infoshos.flows.dedup import DedupInput, cluster_articles

BOILER = [
    "SCO Secretary-General Rashid Alimov met with the delegation",
    "The sides discussed the state and prospects of cooperation within the organisation",
    "The meeting took place in a warm and friendly atmosphere",
]
CHROME = "Share this page Facebook Twitter VK Telegram Print version"


def vocabulary(rng: random.Random, size: int = 20000) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    return ["".join(rng.choice(letters) for _ in range(rng.randint(3, 10))) for _ in range(size)]


def story(rng: random.Random, vocab: list[str], weights: list[float]) -> list[str]:
    sentences = []
    for _ in range(rng.randint(8, 25)):
        sentences.append(
            " ".join(rng.choices(vocab, cum_weights=weights, k=rng.randint(10, 22))) + "."
        )
    if rng.random() < 0.5:
        sentences.insert(0, rng.choice(BOILER) + ".")
    return sentences


def variant(rng: random.Random, sentences: list[str], vocab: list[str]) -> list[str]:
    out = list(sentences)
    kind = rng.randrange(3)
    if kind == 0:
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(len(out))
            words = out[i].split()
            words[rng.randrange(len(words))] = rng.choice(vocab)
            out[i] = " ".join(words)
    elif kind == 1 and len(out) > 8:
        del out[rng.randrange(len(out))]
    else:
        out.append(CHROME)
    return out


def build(n: int, seed: int = 1) -> tuple[list[DedupInput], dict[str, str]]:
    rng = random.Random(seed)
    vocab = vocabulary(rng)
    weights = list(itertools.accumulate(1.0 / (rank + 10) for rank in range(len(vocab))))
    records: list[DedupInput] = []
    origin: dict[str, str] = {}  # article_id -> original story id
    originals: list[tuple[str, list[str], str]] = []
    for i in range(n):
        aid = f"{i:016x}"
        r = rng.random()
        if originals and r < 0.25:
            src_id, src, lang = rng.choice(originals)
            sentences = src if r < 0.05 else variant(rng, src, vocab)
        else:
            sentences = story(rng, vocab, weights)
            lang = "ru" if rng.random() < 0.3 else "en"
            src_id = aid
            originals.append((aid, sentences, lang))
        text = " ".join(sentences)
        records.append(
            DedupInput(
                article_id=aid,
                url=f"http://infoshos.sample.test/en/?idn={i}",
                language=lang,
                text=text,
                content_hash=hashlib.sha256(text.encode()).hexdigest(),
                word_count=len(text.split()),
                seen_order=(f"run{i // 1000:03d}", aid),
                published_at=None,
            )
        )
        origin[aid] = src_id
    return records, origin


def main(sizes: list[int]) -> None:
    print(
        f"{'articles':>9} {'seconds':>8} {'articles/s':>11} {'clusters':>9} "
        f"{'recall':>7} {'false merges':>13}"
    )
    for n in sizes:
        records, origin = build(n)
        start = time.perf_counter()
        rows = cluster_articles(records)
        seconds = time.perf_counter() - start
        cluster_of = {r["article_id"]: r["cluster_id"] for r in rows}
        copies = [a for a, o in origin.items() if a != o]
        recall = sum(cluster_of[a] == cluster_of[origin[a]] for a in copies) / max(1, len(copies))
        stories: dict[str, set[str]] = defaultdict(set)
        for a, cid in cluster_of.items():
            stories[cid].add(origin[a])
        false = sum(len(s) > 1 for s in stories.values())
        print(
            f"{n:>9} {seconds:>8.2f} {n / seconds:>11.0f} {len(stories):>9} "
            f"{recall:>7.3f} {false:>13}"
        )


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [2000, 10000, 20000])
