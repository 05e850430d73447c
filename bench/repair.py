"""Benchmark of ``infoshos.flows.clean.repair`` on damaged copies of the sample articles.

Run: ``python bench/repair.py`` (``--strict`` exits 1 when a goal is missed).

1. Every English sample article (``spiders/sample_site/articles.yaml``; a few built-in paragraphs
   when the file is absent) is damaged in every no-break-space form the portals produce, the
   way the sample site renders it (a form after each short preposition), then repaired.
   Word-level accuracy = share of the clean words restored exactly (token alignment).
   False splits = clean words that came back cut in two.
2. False splits on the top common English words of symspellpy's list and on every entry of
   ``flows/clean/data/names.txt``, plain and sentence-initial.
3. Throughput on 2,000-character articles.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

import yaml

from infoshos.flows.clean.glued import _split_glued
from infoshos.flows.clean.lexicon import Lexicon, lexicon
from infoshos.flows.clean.repair import repair_text

ROOT = Path(__file__).resolve().parents[1]
ARTICLES = ROOT / "spiders" / "sample_site" / "articles.yaml"

# Same list and rule as the sample site renderer (spiders/sample_site).
SAMPLE_PREPOSITIONS = (
    "of in on by with at to between for into about as from against".split()  # noqa: SIM905
)
PREP_RE = re.compile(r"(?<![\w'\u2019&;-])(" + "|".join(SAMPLE_PREPOSITIONS) + r") ")

FORMS: dict[str, str] = {
    "nbsp": "\u00a0",
    "mac_roman (\u2020)": "\u2020",
    "cp437 (\u00e1)": "\u00e1",
    "latin1 (\u00c2+nbsp)": "\u00c2\u00a0",
    "latin1 (\u00c2+space)": "\u00c2 ",
    "glued": "",
    "entity (&nbsp; left)": "&nbsp;",
}

FALLBACK = [
    "SCO Secretary-General meets with UN Under-Secretary-General",
    "On 20 September 2017, SCO Secretary-General Rashid Alimov met with Under-Secretary-General "
    "of the UN Counter-Terrorism Office Vladimir Voronkov on the sidelines of the general debate "
    "of the 72nd session of the UN General Assembly at the UN Headquarters in New York. The "
    "meeting was also attended by RATS Director Yevgeny Sysoyev.",
    "Mr Voronkov noted the SCO's important role in preserving peace, stability and security in "
    "the region, and called the SCO one of the priority agencies for the new office, taking into "
    "account the organisation's geography. He spoke in favour of expanding cooperation between "
    "the UN and regional organisations in this area.",
    "Mr Alimov congratulated Mr Voronkov on his \u201chigh appointment\u201d and said that the "
    "SCO and its RATS (Tashkent) are open for dialogue with specialised organisations, such as "
    "Interpol, the CSTO and the CIS Anti-Terrorism Centre, as well as with Astana, Bishkek, "
    "Dushanbe, Islamabad and New Delhi.",
    "The Council of Foreign Ministers met in Almaty on 15 June 2019 to discuss a draft of the "
    "programme of cooperation against terrorism, separatism and extremism for 2022-2024. "
    "President Kassym-Jomart Tokayev spoke about the results of the summit in Qingdao and about "
    "plans to attend the next meeting in Uzbekistan, together with leaders from Pakistan and "
    "India.",
    "Participants focused on the implementation of the UN Global Counter-Terrorism Strategy, "
    "the establishment of international cooperation in providing global security, and "
    "improvement of mechanisms to counteract the threats of international terrorism. The forum "
    "was often described as a bypass for bureaucracy within and without the organisation.",
]


def load_texts() -> tuple[list[str], str]:
    """Clean English texts (title + paragraphs), and where they came from."""
    if ARTICLES.exists():
        data: Any = yaml.safe_load(ARTICLES.read_text(encoding="utf-8"))
        texts = []
        for raw in data.get("articles", []):
            if raw.get("language") != "en" or not raw.get("paragraphs"):
                continue
            texts.append("\n\n".join([raw["title"], *raw["paragraphs"]]))
        if texts:
            return texts, f"{len(texts)} English articles of {ARTICLES.relative_to(ROOT)}"
    return ["\n\n".join(FALLBACK)], "built-in paragraphs (articles.yaml not found)"


def damage(text: str, form: str) -> str:
    return PREP_RE.sub(lambda m: m.group(1) + form, text)


def compare(clean: str, repaired: str) -> tuple[int, int, int]:
    """(clean words, words restored exactly, false splits) by token alignment."""
    a, b = clean.split(), repaired.split()
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    matched = sum(block.size for block in matcher.get_matching_blocks())
    false_splits = 0
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "replace" and j2 - j1 > i2 - i1 and "".join(a[i1:i2]) == "".join(b[j1:j2]):
            false_splits += (j2 - j1) - (i2 - i1)
    return len(a), matched, false_splits


def common_words(n: int) -> list[str]:
    lex = lexicon()
    ranked = sorted(lex.words.items(), key=lambda kv: -kv[1])
    return [w for w, _ in ranked if w.isalpha() and w.isascii()][:n]


def changed(text: str) -> bool:
    return repair_text(text, "en")[0] != text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strict", action="store_true", help="exit 1 when a goal is missed")
    parser.add_argument("--words", type=int, default=5000, help="common English words to test")
    args = parser.parse_args()

    texts, source = load_texts()
    print(f"source: {source}")
    print(f"{'form':<22}{'words':>8}{'restored':>10}{'accuracy':>10}{'false splits':>14}")
    worst = 100.0
    total_false = 0
    for name, form in [("clean (no damage)", None), *FORMS.items()]:
        words = restored = false = 0
        for clean in texts:
            damaged = clean if form is None else damage(clean, form)
            repaired, _ = repair_text(damaged, "en")
            w, r, f = compare(clean, repaired)
            words, restored, false = words + w, restored + r, false + f
        acc = 100.0 * restored / max(words, 1)
        worst = min(worst, acc)
        total_false += false
        print(f"{name:<22}{words:>8}{restored:>10}{acc:>9.2f}%{false:>14}")

    vocab = common_words(args.words)
    word_false = [w for w in vocab if changed(f"It is {w} here.") or changed(f"{w.title()} it.")]
    lex = lexicon()
    names = list(lex.name_entries)
    name_false = [n for n in names if changed(f"It is {n} here.") or changed(n)]
    bare = Lexicon(words=lex.words, names=frozenset(), name_entries=())
    name_tokens = sorted({t for n in names for t in re.findall(r"[^\W\d_]+", n)})
    unprotected = [t for t in name_tokens if _split_glued(t, bare) is not None]
    glued_names = [n for n in names if repair_text(f"met with{n}", "en")[0] != f"met with {n}"]
    print()
    print(f"{'word list':<40}{'tested':>8}{'false splits':>14}")
    print(f"{'common English words (top, alphabetic)':<40}{len(vocab):>8}{len(word_false):>14}")
    print(f"{'names list (data/names.txt)':<40}{len(names):>8}{len(name_false):>14}")
    print(
        f"{'name tokens WITHOUT the names list':<40}{len(name_tokens):>8}{len(unprotected):>14}"
        "  (informative: how much the list protects)"
    )
    print(f"{'names glued after with (with<Name>)':<40}{len(names):>8}{len(glued_names):>14}")
    for label, bad in (("words", word_false), ("names", name_false), ("glued", glued_names)):
        if bad:
            print(f"  {label} changed: {', '.join(bad[:20])}")
    if unprotected:
        print(f"  unprotected name tokens: {', '.join(unprotected[:30])}")

    bodies = []
    for clean in texts:
        for form in FORMS.values():
            body = damage(clean, form)
            bodies.append((body * (2000 // max(len(body), 1) + 1))[:2000])
    for label, language in (("language given", "en"), ("language detected", None)):
        n = 0
        start = time.perf_counter()
        while n < 4000:
            for body in bodies:
                repair_text(body, language)
            n += len(bodies)
        rate = n / (time.perf_counter() - start)
        print(f"throughput ({len(bodies)} damaged 2,000-char articles, {label}): {rate:,.0f}/s")

    ok = worst >= 99.5 and total_false == 0 and not word_false and not name_false
    print(f"\ngoal (>= 99.5% restored per form, 0 false splits): {'met' if ok else 'MISSED'}")
    return 1 if (args.strict and not ok) else 0


if __name__ == "__main__":
    sys.exit(main())
