"""Spider for the SCO Secretariat portal style.

The real site has one edition per language: ``https://eng.sectsco.org``,
``https://rus.sectsco.org``, ``https://chn.sectsco.org`` (UTF-8). Confirmed (see
``../shared/research/real-portals.md`` and docs/sources.md): the editions on those subdomains;
article addresses ``/YYYYMMDD/ID.html`` (2015-2024), ``/news/YYYYMMDD/ID.html`` (2019-2020),
the slug form ``/YYYYMMDD/Words-Of-Title-ID.html`` and the section form
``/political/YYYYMMDD/ID/slug.html`` (``cultural``, ``media_SCO``...) from 2023, sometimes with
a trailing dot on the host. All of them are one article (one canonical URL, keyed by the ID);
each is fetched once per crawl. Menu and About pages share the ``/YYYYMMDD/ID.html`` shape: they
are fetched as candidates and the clean stage rejects them by content.

No list or article markup is confirmed. Discovery therefore uses the edition home pages, the
sitemaps, feeds if any, and every link on any fetched page that matches an article pattern
(:attr:`SectscoSpider.ARTICLE_PATTERNS`, or the source's ``article_patterns``); navigation links
(home page, ``/news/?offset=N``, section fronts) are followed up to ``list_depth`` hops. The
bundled sample site's ``.news-item`` / ``a.next`` list markup is invented: it is not used (give
``list_css`` / ``next_css`` to use such hints). PDFs are never downloaded: they become
``not_article`` skips.
"""

from __future__ import annotations

from infoshos.spiders.base import PortalSpider
from infoshos.spiders.urls import compile_patterns, path_matches


class SectscoSpider(PortalSpider):
    name = "sectsco"
    #: Every confirmed article address form (searched in the canonical path, which folds them
    #: all into ``/YYYYMMDD/ID.html``; the raw forms are listed for URLs of hosts not folded).
    ARTICLE_PATTERNS = (
        r"^/(?:[A-Za-z_]+/)?\d{8}/(?:[^/?]*-)?\d+\.html$",
        r"^/[A-Za-z_]+/\d{8}/\d+/[^/?]+\.html$",
    )
    #: Home pages, the news list and section fronts with their ``?offset=N`` pages.
    LIST_PATTERNS = (r"^/$", r"^/(?:news|political|cultural|media_SCO)(?:\?offset=\d+)?$")
    #: An article's own links (documents, other sites), checked: those in the page's
    #: ``<article>`` or ``<main>`` (standard HTML5 elements, not site markup).
    ARTICLE_LINKS = "article a::attr(href), main a::attr(href)"


_ARTICLE_RES = compile_patterns(SectscoSpider.ARTICLE_PATTERNS)


def is_article_url(url: str) -> bool:
    """True for any confirmed article address form (raw or canonical)."""
    return path_matches(_ARTICLE_RES, url)
