"""A static synthetic site of N articles in both portal styles, for the scale benchmark.

    .venv/bin/python bench/synthetic.py --articles 10000 --out /tmp/site [--seed 7]

The pages are built by the sample site's own render functions (``spiders/sample_site/render.py``)
so the structure is exactly what the spiders and site rules understand; only the texts are
synthetic: sentence templates filled with SCO people, countries, organisations and cities from
the gazetteer (the "known entities"), topic trigger words and words drawn from the sample
site's own vocabulary (so unrelated articles share no 5-word shingles).

What the site holds (all deterministic from the seed):

- Infoshos style (``/infoshos/``): en + ru articles (windows-1251; English bodies carry the six
  no-break-space forms; Russian pages vary how they declare the encoding), paginated lists
  ``{en,ru}/news/?page=N`` and RSS feeds;
- Secretariat style (``/sectsco/eng/``, ``/sectsco/rus/``, UTF-8): articles, lists
  ``news/?offset=N``; a share of articles also listed under their alias
  ``news/YYYYMMDD/ID.html`` (the same page under two URLs: exact duplicates the URL
  canonicalisation folds into one article);
- republished copies: Secretariat articles copying an Infoshos story, either verbatim (exact
  content duplicates) or with small edits (near duplicates).

The files are laid out for a static server (see ``bench/serve.py``): ``?idn=N`` pages as
``infoshos/{en,ru}/a/N.html`` (``ru/n/N.html`` for pages served without a charset header),
list pages as ``.../news/p/N.html`` and ``.../news/o/N.html``. ``manifest.json`` (written last)
holds the expected article count and the duplicate pairs.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from infoshos.spiders.sample_site import render
from infoshos.spiders.sample_site.model import (
    MSK,
    NBSP_FORMS,
    PREFIXES,
    SampleArticle,
    load_articles,
)
from infoshos.spiders.sample_site.render import SiteData

#: Bump when the generated site changes, so cached sites are rebuilt.
GENERATOR_VERSION = 2
MANIFEST = "manifest.json"

#: Shares of the N articles (the rest are originals).
NEAR_SHARE = 0.06  # republished copies with small edits
EXACT_SHARE = 0.02  # republished copies, verbatim
ALIAS_SHARE = 0.10  # Secretariat articles also listed under news/YYYYMMDD/ID.html
RU_VARIANTS = (None, None, None, None, None, None, None, "header_only", "meta_only", "none")
EN_SECTSCO_FORMS = ("nbsp_entity", "raw_a0", None)
FIRST_DAY = datetime(2006, 1, 1, 9, 0, tzinfo=MSK)
DAYS = 19 * 365

CANONICAL = dict(PREFIXES)
HOST_PLACEHOLDER = "http://bench.invalid"

TOPICS: dict[str, dict[str, list[str]]] = {
    "terrorism": {
        "en": ["terrorism", "counter-terrorism", "terrorist groups", "militants"],
        "ru": ["терроризм", "террористических", "контртеррористических", "боевиков"],
    },
    "extremism": {
        "en": ["extremism", "separatism", "radicalisation", "extremist ideology"],
        "ru": ["экстремизм", "сепаратизм", "радикализации", "экстремистской"],
    },
    "drug_trafficking": {
        "en": ["drug trafficking", "narcotics", "heroin", "money laundering"],
        "ru": ["наркотиков", "наркотрафика", "героина", "прекурсоров"],
    },
    "cybersecurity": {
        "en": ["cybersecurity", "information security", "cybercrime", "hackers"],
        "ru": ["кибербезопасности", "информационной безопасности", "киберпреступности", "хакеров"],
    },
}

EN_SENTENCES = (
    "{P} met {P2} in {CITY} to discuss {w} {w} {w} of {w} {w} cooperation.",
    "The {ORG} stressed that {C} and {C2} {w} {w} {w} on {T} and {w} {w} {w}.",
    "{W} {w} {w} {w} {w} {w} {w} for {w} {w} {w} {w} with {C}.",
    "According to {P}, {w} {w} {T} {w} {w} {w} between {C} and {C2}.",
    "{W} {w} {w} in {CITY} {w} {w} {w} by the {ORG} at {w} {w} {w}.",
    "{W} {w} {w} {w} {T} {w} {w} as {w} {w} {w} {w}.",
    "{C} {w} {w} {w} {w} into {w} {w} {w} from {w} {w} {w}.",
)
RU_SENTENCES = (
    "{P} и {P2} обсудили {w} {w} {w} {w} {w} сотрудничества в городе {CITY}.",
    "{ORG} {w} {w} {w}, что {C} и {C2} {w} {w} {T} {w} {w}.",
    "{W} {w} {w} {w} {w} {w} {w} {w} {w} {w} {w}.",
    "Как отметил {P}, {w} {w} {T} {w} {w} {w} {w}.",
    "{W} {w} {w} {w} {w} {w}: {C} {w} {w} {w} {w} {w}.",
    "{W} {w} {w} {T} {w} {w} {w} {w} {w} {w}.",
)
EN_TITLES = (
    "{P} discusses {w} {w} with {C}",
    "{ORG}: {w} {w} {w} {w} in {CITY}",
    "{C} and {C2} agree on {w} {w} {w}",
    "{W} {w} {w} {w} {w} {T}",
)
RU_TITLES = (
    "{P}: {w} {w} {w} {w}",
    "{ORG} {w} {w} {w} {w}",
    "{C} и {C2} {w} {w} {w}",
    "{W} {w} {w} {w} {T}",
)
EXTRA_SENTENCE = {"en": "The text was republished from Infoshos.", "ru": "Материал Инфошос."}


@dataclass
class Vocab:
    """Words and names to fill the templates with, per language."""

    words: dict[str, list[str]]
    persons: dict[str, list[str]]
    countries: dict[str, list[str]]
    orgs: dict[str, list[str]]
    cities: dict[str, list[str]]
    entities: list[dict[str, str]] = field(default_factory=list)


def _ru_name(values: list[str] | None) -> str | None:
    if not values:
        return None
    return re.sub(r"\s*\|\s*", " ", values[0]).strip()


def load_vocab() -> Vocab:
    """Template fillers: the sample site's words and the gazetteer's entities (en + ru)."""
    words: dict[str, set[str]] = {"en": set(), "ru": set()}
    for art in load_articles():
        for w in re.findall(r"\b[^\W\d_]{3,}\b", art.text):
            if w.islower() and (art.language == "ru") == bool(re.search("[а-я]", w)):
                words[art.language].add(w)
    gaz = yaml.safe_load(
        resources.files("infoshos.flows.enrich").joinpath("gazetteer.yaml").read_text("utf-8")
    )
    persons: dict[str, list[str]] = {"en": [], "ru": []}
    countries: dict[str, list[str]] = {"en": [], "ru": []}
    orgs: dict[str, list[str]] = {"en": [], "ru": []}
    cities: dict[str, list[str]] = {"en": [], "ru": []}
    entities: list[dict[str, str]] = []
    sections: list[tuple[str, dict[str, list[str]], list[dict[str, Any]]]] = [
        ("person", persons, list(gaz["persons"])),
        ("org", orgs, [o for o in gaz["orgs"] if len(o["name"]) < 40]),
        # A key YAML reads as a boolean (``NO:`` -> False, Norway) is a gazetteer bug: left out
        # here, or every run would stop at the load stage on it.
        (
            "country",
            countries,
            [
                {"id": f"country:{k}", **v}
                for k, v in gaz["countries"].items()
                if isinstance(k, str)
            ],
        ),
        ("location", cities, list(gaz["locations"])),
    ]
    for kind, target, entries in sections:
        for e in entries:
            ru = _ru_name(e.get("ru"))
            if not ru:
                continue
            target["en"].append(e["name"])
            target["ru"].append(ru)
            entities.append({"id": e["id"], "type": kind, "en": e["name"], "ru": ru})
    return Vocab(
        words={k: sorted(v) for k, v in words.items()},
        persons=persons,
        countries=countries,
        orgs=orgs,
        cities=cities,
        entities=entities,
    )


class Writer:
    """Fills templates from one seeded random generator."""

    def __init__(self, vocab: Vocab, rng: random.Random) -> None:
        self.v = vocab
        self.rng = rng

    def fill(self, template: str, lang: str, topic: str) -> str:
        rng, v = self.rng, self.v
        words = v.words[lang]
        p1, p2 = rng.sample(v.persons[lang], 2)
        c1, c2 = rng.sample(v.countries[lang], 2)
        fills = {
            "P": p1,
            "P2": p2,
            "C": c1,
            "C2": c2,
            "ORG": rng.choice(v.orgs[lang]),
            "CITY": rng.choice(v.cities[lang]),
            "T": rng.choice(TOPICS[topic][lang]),
        }

        def sub(m: re.Match[str]) -> str:
            key = m.group(1)
            if key == "w":
                return rng.choice(words)
            if key == "W":
                return rng.choice(words).capitalize()
            return fills[key]

        return re.sub(r"\{(\w+)\}", sub, template)

    def title(self, lang: str, topic: str) -> str:
        titles = EN_TITLES if lang == "en" else RU_TITLES
        return self.fill(self.rng.choice(titles), lang, topic)

    def paragraphs(self, lang: str, topic: str) -> list[str]:
        sentences = EN_SENTENCES if lang == "en" else RU_SENTENCES
        out = []
        for _ in range(self.rng.randint(4, 7)):
            k = self.rng.randint(2, 4)
            out.append(
                " ".join(self.fill(self.rng.choice(sentences), lang, topic) for _ in range(k))
            )
        return out

    def edit(self, paragraphs: list[str], lang: str) -> list[str]:
        """A republished copy with small edits: a few words changed, a sentence dropped or added."""
        rng = self.rng
        out = list(paragraphs)
        kind = rng.randrange(3)
        if kind == 0:
            for _ in range(rng.randint(1, 3)):
                i = rng.randrange(len(out))
                words = out[i].split(" ")
                j = rng.randrange(len(words))
                if words[j].isalpha() and words[j].islower():
                    words[j] = rng.choice(self.v.words[lang])
                out[i] = " ".join(words)
        elif kind == 1:
            i = rng.randrange(len(out))
            sentences = re.split(r"(?<=\.) ", out[i])
            if len(sentences) > 1:
                del sentences[rng.randrange(len(sentences))]
                out[i] = " ".join(sentences)
        else:
            out.append(EXTRA_SENTENCE[lang])
        return out


def _stamp(when: datetime) -> str:
    return when.strftime("%d.%m.%Y %H:%M")


def _infoshos(
    key: str,
    lang: str,
    idn: int,
    when: datetime,
    title: str,
    paras: list[str],
    subtitle: str | None,
    nbsp: str | None,
    variant: str | None,
) -> SampleArticle:
    return SampleArticle(
        key=key,
        portal="infoshos",
        language=lang,
        published=_stamp(when),
        title=title,
        paragraphs=paras,
        idn=idn,
        subtitle=subtitle,
        nbsp_form=nbsp,
        encoding_variant=variant,
    )


def _sectsco(
    key: str,
    edition: str,
    ident: int,
    when: datetime,
    title: str,
    paras: list[str],
    subtitle: str | None,
    nbsp: str | None,
    alias: bool,
    republish_of: str | None = None,
) -> SampleArticle:
    return SampleArticle(
        key=key,
        portal="sectsco",
        language="en" if edition == "eng" else "ru",
        published=_stamp(when),
        title=title,
        paragraphs=paras,
        date_path=when.strftime("%Y%m%d"),
        id=ident,
        edition=edition,
        subtitle=subtitle,
        nbsp_form=nbsp,
        news_alias=alias,
        republish_of=republish_of,
    )


def build_articles(n: int, seed: int) -> tuple[list[SampleArticle], dict[str, Any]]:
    """The N articles of the site and the manifest (duplicate pairs, counts)."""
    rng = random.Random(seed)
    vocab = load_vocab()
    writer = Writer(vocab, rng)
    n_near = int(n * NEAR_SHARE)
    n_exact = int(n * EXACT_SHARE)
    n_orig = n - n_near - n_exact
    # Originals: (portal, language, time, topic), in publication order.
    starts = sorted(
        FIRST_DAY + timedelta(minutes=rng.randrange(DAYS * 24 * 60)) for _ in range(n_orig)
    )
    originals: list[SampleArticle] = []
    idn, sect_id = 1000, 50000
    for i, when in enumerate(starts):
        lang = "en" if rng.random() < 0.5 else "ru"
        topic = rng.choice(list(TOPICS))
        title = writer.title(lang, topic)
        paras = writer.paragraphs(lang, topic)
        subtitle = (
            writer.fill(rng.choice(EN_SENTENCES if lang == "en" else RU_SENTENCES), lang, topic)
            if rng.random() < 0.3
            else None
        )
        if rng.random() < 0.5:
            idn += 1
            nbsp = NBSP_FORMS[i % len(NBSP_FORMS)] if lang == "en" else None
            variant = rng.choice(RU_VARIANTS) if lang == "ru" else None
            originals.append(
                _infoshos(f"i{idn}", lang, idn, when, title, paras, subtitle, nbsp, variant)
            )
        else:
            sect_id += 1
            edition = "eng" if lang == "en" else "rus"
            nbsp = rng.choice(EN_SECTSCO_FORMS) if lang == "en" else None
            alias = rng.random() < ALIAS_SHARE
            originals.append(
                _sectsco(f"s{sect_id}", edition, sect_id, when, title, paras, subtitle, nbsp, alias)
            )
    sources = [a for a in originals if a.portal == "infoshos"] or originals
    copies: list[SampleArticle] = []
    near_pairs: list[list[str]] = []
    exact_pairs: list[list[str]] = []
    for k in range(n_near + n_exact):
        orig = rng.choice(sources)
        exact = k >= n_near
        sect_id += 1
        when = orig.published_msk + timedelta(hours=rng.randint(2, 72))
        paras = list(orig.paragraphs) if exact else writer.edit(orig.paragraphs, orig.language)
        edition = "eng" if orig.language == "en" else "rus"
        copy = _sectsco(
            f"c{sect_id}",
            edition,
            sect_id,
            when,
            orig.title,
            paras,
            orig.subtitle,
            None,
            False,
            republish_of=orig.key,
        )
        copies.append(copy)
        (exact_pairs if exact else near_pairs).append([orig.canonical_url, copy.canonical_url])
    articles = originals + copies
    alias_pairs = [
        [CANONICAL[f"/sectsco/{a.edition}/"] + f"news/{a.date_path}/{a.id}.html", a.canonical_url]
        for a in articles
        if a.news_alias
    ]
    manifest: dict[str, Any] = {
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "articles": len(articles),
        "expected_articles": len(articles),
        "by_portal_language": _counts(articles),
        "alias_pairs": alias_pairs,
        "exact_pairs": exact_pairs,
        "near_pairs": near_pairs,
        "entities": vocab.entities,
        "topics": sorted(TOPICS),
    }
    return articles, manifest


def _counts(articles: list[SampleArticle]) -> dict[str, int]:
    out: dict[str, int] = {}
    for a in articles:
        key = f"{a.portal}:{a.language}"
        out[key] = out.get(key, 0) + 1
    return dict(sorted(out.items()))


class _View(SiteData):
    """A SiteData that holds only what one page shows (render's helpers scan whole lists)."""

    def __init__(
        self,
        infoshos: dict[str, list[SampleArticle]],
        sectsco: dict[str, list[SampleArticle]],
        entries: dict[str, list[tuple[str, str, str]]] | None = None,
        sect_entries: dict[str, list[tuple[SampleArticle, str]]] | None = None,
    ) -> None:
        self.articles = []
        self.documents = []
        self.infoshos = infoshos
        self.sectsco = sectsco
        self._entries = entries or {}
        self._sect_entries = sect_entries or {}

    def infoshos_entries(self, lang: str) -> list[tuple[str, str, str]]:
        return self._entries.get(lang, [])

    def sectsco_entries(self, edition: str) -> list[tuple[SampleArticle, str]]:
        return self._sect_entries.get(edition, [])


def write_site(articles: list[SampleArticle], manifest: dict[str, Any], out: Path) -> int:
    """Render every page into ``out`` (replaced); returns the number of files written."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    newest = sorted(articles, key=lambda a: (a.published_msk, a.key), reverse=True)
    infoshos: dict[str, list[SampleArticle]] = {"en": [], "ru": []}
    sectsco: dict[str, list[SampleArticle]] = {"eng": [], "rus": []}
    for a in newest:
        if a.portal == "infoshos":
            infoshos[a.language].append(a)
        else:
            sectsco[a.edition or "eng"].append(a)
    latest = {lang: items[:10] for lang, items in infoshos.items()}
    sect_latest = {ed: items[:5] for ed, items in sectsco.items()}
    files = 0

    def put(rel: str, body: bytes) -> None:
        nonlocal files
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
        files += 1

    put("robots.txt", render.ROBOTS)
    for lang, items in infoshos.items():
        by_idn = sorted(items, key=lambda a: a.idn or 0)
        for pos, a in enumerate(by_idn):
            near = by_idn[max(0, pos - 6) : pos + 7]
            pool = latest[lang] + [x for x in near if x not in latest[lang]]
            view = _View({lang: pool}, sect_latest)
            folder = "n" if a.encoding_variant in ("meta_only", "none") else "a"
            put(f"infoshos/{lang}/{folder}/{a.idn}.html", render.infoshos_article(view, a))
        entries = {lang: [(a.published, a.title, a.local_path) for a in items]}
        view = _View(latest, sect_latest, entries=entries)
        for page in range(1, render.infoshos_list_pages(view, lang) + 1):
            put(f"infoshos/{lang}/news/p/{page}.html", render.infoshos_list(view, lang, page))
        rss = render.infoshos_rss(_View(infoshos, sect_latest), lang, HOST_PLACEHOLDER)
        rss = rss.replace(
            f"{HOST_PLACEHOLDER}/infoshos/".encode(), CANONICAL["/infoshos/"].encode()
        )
        put(f"infoshos/rss/rss_{lang}.xml", rss)
    for edition, items in sectsco.items():
        view = _View(latest, sect_latest)
        for a in items:
            put(f"sectsco/{edition}/{a.date_path}/{a.id}.html", render.sectsco_article(view, a))
        sect_entries: list[tuple[SampleArticle, str]] = []
        for a in items:
            sect_entries.append((a, a.local_path))
            if a.news_alias and a.alias_path:
                sect_entries.append((a, a.alias_path))
        view = _View(latest, sect_latest, sect_entries={edition: sect_entries})
        size = max(len(sect_entries), 1)
        for offset in range(0, size, render.PER_PAGE):
            put(
                f"sectsco/{edition}/news/o/{offset}.html",
                render.sectsco_list(view, edition, offset),
            )
    manifest = dict(manifest)
    manifest["files"] = files
    manifest["crawlable_pages"] = _crawlable(articles, infoshos, sectsco)
    (out / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), "utf-8")
    return files


def _crawlable(
    articles: list[SampleArticle],
    infoshos: dict[str, list[SampleArticle]],
    sectsco: dict[str, list[SampleArticle]],
) -> int:
    """Pages a complete crawl fetches: articles, aliases, lists, feeds (robots.txt excluded)."""
    lists = sum(max(1, -(-len(v) // render.PER_PAGE)) for v in infoshos.values())
    aliases = sum(1 for a in articles if a.news_alias)
    sect_lists = sum(
        max(1, -(-(len(v) + sum(1 for a in v if a.news_alias)) // render.PER_PAGE))
        for v in sectsco.values()
    )
    return len(articles) + aliases + lists + sect_lists + len(infoshos)


def site_dir(cache: Path, n: int, seed: int) -> Path:
    return cache / f"site-n{n}-s{seed}-v{GENERATOR_VERSION}"


def ensure_site(n: int, seed: int, cache: Path, log: Any = None) -> tuple[Path, dict[str, Any]]:
    """The generated site for (n, seed), built unless cached; returns its folder and manifest."""
    folder = site_dir(cache, n, seed)
    manifest_path = folder / MANIFEST
    if manifest_path.exists():
        return folder, json.loads(manifest_path.read_text("utf-8"))
    t0 = time.perf_counter()
    articles, manifest = build_articles(n, seed)
    t1 = time.perf_counter()
    files = write_site(articles, manifest, folder)
    if log:
        log(
            f"generated {n} articles in {t1 - t0:.1f} s, wrote {files} files "
            f"in {time.perf_counter() - t1:.1f} s -> {folder}"
        )
    return folder, json.loads(manifest_path.read_text("utf-8"))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--articles", type=int, required=True)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--out", required=True, help="the site folder (replaced)")
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    articles, manifest = build_articles(args.articles, args.seed)
    files = write_site(articles, manifest, Path(args.out))
    print(f"{len(articles)} articles, {files} files in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
