"""A corpus of small sites in layouts the extraction code was not designed around.

Each folder with a ``site.json`` is one site: ``{"timezone": IANA name, "style": extraction
style, "base_url": ...}``; ``truth.json`` maps each page file (the exact bytes a server would
send) to what the clean stage should make of it: ``article`` true with ``title``,
``published_at``, ``language``, ``text`` (paragraphs joined by one blank line) and ``absent``
(chrome that must not reach the text), or ``article`` false with ``why``. ``generate.py`` wrote
the pages and the truth together; see its docstring for the conventions.
"""

from __future__ import annotations

import inspect
import json
import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from infoshos.flows.clean.articles import PageResult, clean_page

ROOT = Path(__file__).resolve().parent
# A fixed "now" so that the plausibility check on dates does not depend on the day of the run.
NOW = datetime(2026, 1, 1, tzinfo=UTC)
_TOKEN_RE = re.compile(r"\w+")
_SPACE_RE = re.compile(r"\s+")


@dataclass(frozen=True)
class Site:
    name: str
    root: Path
    timezone: str
    style: str
    base_url: str
    truth: dict[str, dict[str, Any]]

    def articles(self) -> list[str]:
        return [path for path, t in self.truth.items() if t["article"]]


def load_corpus(root: Path = ROOT) -> list[Site]:
    sites = []
    for config in sorted(root.glob("*/site.json")):
        folder = config.parent
        meta = json.loads(config.read_text(encoding="utf-8"))
        truth = json.loads((folder / "truth.json").read_text(encoding="utf-8"))
        sites.append(
            Site(folder.name, folder, meta["timezone"], meta["style"], meta["base_url"], truth)
        )
    return sites


def page_record(site: Site, path: str) -> dict[str, Any]:
    """A spool-like page record for one page file, as the crawl would have stored it."""
    truth = site.truth[path]
    return {
        "page_id": f"corpus-{site.name}:{path}",
        "url": truth["url"],
        "final_url": truth["url"],
        "source": f"corpus-{site.name}",
        "page_type": "article",
        "status": 200,
        "headers": {"content-type": truth["content_type"]},
        "body": (site.root / path).read_bytes(),
        "skip_reason": None,
        "detail": None,
    }


def takes_timezone() -> bool:
    """Whether ``clean_page`` accepts the source's ``timezone`` (issue 11, item 6)."""
    return "timezone" in inspect.signature(clean_page).parameters


def clean(site: Site, path: str) -> PageResult:
    """``clean_page`` on one page with the site's style and timezone; the encoding is detected."""
    options: dict[str, Any] = {"timezone": site.timezone} if takes_timezone() else {}
    return clean_page(page_record(site, path), site.style, None, NOW, **options)


def tokens(text: str) -> Counter[str]:
    return Counter(_TOKEN_RE.findall(text))


def word_f1(prediction: str, truth: str) -> float:
    """F1 of the bags of ``\\w+`` tokens (case kept, counted with repeats)."""
    pred, gold = tokens(prediction), tokens(truth)
    common = sum((pred & gold).values())
    if not common:
        return 1.0 if not pred and not gold else 0.0
    precision, recall = common / sum(pred.values()), common / sum(gold.values())
    return 2 * precision * recall / (precision + recall)


def paragraphs(text: str) -> list[str]:
    """The paragraphs of a text (blank-line separated), each with its whitespace collapsed."""
    paras = (_SPACE_RE.sub(" ", p).strip() for p in re.split(r"\n\s*\n", text))
    return [p for p in paras if p]


def published(truth: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(truth["published_at"])
