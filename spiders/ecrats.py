"""Spider for the SCO RATS portal (the Executive Committee of the Regional Anti-Terrorist
Structure of the SCO), ``https://ecrats.org``.

Known from the live site: articles are ``/{en,ru}/press/news/N/`` (N a number, one page per
language edition), UTF-8. The site runs on 1C-Bitrix.

**Assumed** (the live site cannot be reached from where this spider was written, so the list
and article markup follow the stock Bitrix ``news.list`` / ``news.detail`` /
``system.pagenavigation`` "modern" templates; check them against the live site before relying on
the ``ecrats`` source, see ``docs/sources.md``, "Debugging a new source"):

- news lists: ``/{en,ru}/press/news/`` (page 1) and ``/{en,ru}/press/news/?PAGEN_1=N``, items
  ``.news-list .news-item`` holding links to the article (picture and title) and a
  ``span.news-date-time``; ``a.modern-page-next`` links the next page;
- article: ``div.workarea`` holding the page title ``<h1>`` and ``div.news-detail``:
  ``span.news-date-time`` (``DD.MM.YYYY`` or ``DD.MM.YYYY HH:MM``, Tashkent time), an optional
  ``div.news-detail-preview`` (lead), the text in ``div.news-detail-text`` (``<p>`` or
  ``<br><br>`` paragraphs), attachments in ``div.news-detail-files``, share buttons in
  ``div.news-detail-share``; a sidebar of latest news and the menus around it.

Discovery does not depend on that markup: the spider starts from the edition home pages and the
sitemap, and follows every link on any fetched page whose canonical URL matches an article
pattern (:attr:`EcratsSpider.ARTICLE_PATTERNS`, or the source's ``article_patterns``) as an
article candidate, and links to the home pages, the news list and its ``?PAGEN_1=N`` pages as
navigation (up to ``list_depth`` hops). The stock template's classes are not used as selectors
(give ``list_css`` / ``next_css`` to use them as hints). Links in an article's text and
attachments that are not articles are only checked: documents (PDF...) become ``not_article``
skips, other sites ``offsite`` skips.
Extraction rules: the ``ecrats`` entry of ``flows/clean/sites.py``.
"""

from __future__ import annotations

from infoshos.spiders.base import PortalSpider
from infoshos.spiders.urls import compile_patterns, path_matches


class EcratsSpider(PortalSpider):
    name = "ecrats"
    #: The confirmed article address, ``/{en,ru}/press/news/N/`` (separate id spaces per
    #: language).
    ARTICLE_PATTERNS = (r"^/(?:en|ru)/press/news/\d+/?$",)
    #: The edition home pages, the news list and its Bitrix pages (``?PAGEN_1=N``).
    LIST_PATTERNS = (r"^/(?:en|ru)/?$", r"^/(?:en|ru)/press/news/?(?:\?PAGEN_\d+=\d+)?$")
    #: Where an article's own links are (checked only when they are not articles).
    ARTICLE_LINKS = ".news-detail-text a::attr(href), .news-detail-files a::attr(href)"


_ARTICLE_RES = compile_patterns(EcratsSpider.ARTICLE_PATTERNS)


def is_article_url(url: str) -> bool:
    """True for an article address, ``/{en,ru}/press/news/N/``."""
    return path_matches(_ARTICLE_RES, url)
