"""Which links a crawl requests, and how: the link and request policy of the portal spiders.
Pure functions and constants (the Scrapy shell, :class:`infoshos.spiders.base.PortalSpider`,
applies them).

Rules:

- A link is ``(href, link type, via)``: the type it would be requested as (a page type, or
  ``feed_item`` / ``sitemap_item`` for the generic spider's items), None for a link that is only
  checked; ``via`` is how it was found (:data:`infoshos.warehouse.schema.VIA`).
- A link to another origin is refused as ``offsite`` (detail ``origin HOST[:PORT]``), a link to
  a document or media file as ``not_article`` (detail ``pdf document``): each becomes one skip
  record per URL and reason in a crawl, never a request (:func:`refusal`).
- Navigation links (``list``, ``feed``) are followed up to ``list_depth`` hops from a start URL
  (default :data:`infoshos.spiders.crawl.DEFAULT_LIST_DEPTH`); content links do not count as
  hops (:func:`nav_hops`).
- Each canonical URL is requested once per crawl (its key, :func:`infoshos.spiders.urls.url_key`
  of the canonical URL), a fetched page is never requested again, start URLs always are; the
  page budget (``max_pages``, start URLs included; 0 = no limit) caps every request.
- Requests: priority ``-depth`` (shallow pages first), always ``dont_filter`` (the crawl
  deduplicates itself: Scrapy's filter would drop a redirect to a URL already seen, a redirect
  loop included, without any record; off-site filtering ignores it), the key a shared frontier
  claims the URL under in ``infoshos_key`` (:func:`request_meta`).
- Politeness (delays, concurrency, AutoThrottle), robots.txt, retries, timeouts and size limits
  are explicit Scrapy settings (:mod:`infoshos.spiders.settings`) and middlewares
  (:mod:`infoshos.spiders.middlewares`); what their failures become is
  :func:`infoshos.spiders.records.classify_failure`.
"""

from __future__ import annotations

from typing import Any

from infoshos.spiders.urls import document_extension, origin_text
from infoshos.warehouse.schema import NAVIGATION_PAGE_TYPES

#: What a subclass hands :meth:`PortalSpider.follow_links`: a raw href, the page type it would
#: be fetched as (None for a link that is only checked: offsite / document skips), and how it
#: was found (one of :data:`infoshos.warehouse.schema.VIA`).
Link = tuple[str, str | None, str]

#: Link types that lead to content (skipped when known, dated by list items, requested
#: conditionally in a full crawl); the others (``list``, ``feed``) are navigation.
CONTENT_TYPES = frozenset({"article", "print", "feed_item", "sitemap_item", "other"})
NAVIGATION_TYPES = frozenset(NAVIGATION_PAGE_TYPES)


def refusal(canonical_url: str, onsite: bool) -> tuple[str, str] | None:
    """``(skip_reason, detail)`` of a link that is never requested (another site, a document),
    else None."""
    if not onsite:
        return "offsite", f"origin {origin_text(canonical_url)}"
    ext = document_extension(canonical_url)
    if ext:
        return "not_article", f"{ext} document"
    return None


def nav_hops(nav: int, link_type: str) -> int:
    """Navigation hops from a start URL to a link found on a page ``nav`` hops away."""
    return nav + (link_type in NAVIGATION_TYPES)


def too_deep(hops: int, link_type: str, list_depth: int) -> bool:
    """True for a navigation link beyond ``list_depth`` hops (content links are never)."""
    return hops > list_depth and link_type in NAVIGATION_TYPES


def request_meta(
    page_type: str, referer: str | None, depth: int, via: str, nav_depth: int, key: str
) -> dict[str, Any]:
    """The ``meta`` of a request: what the callbacks and the records read back."""
    return {
        "page_type": page_type,
        "infoshos_referer": referer,
        "infoshos_depth": depth,
        "infoshos_via": via,
        "infoshos_nav": nav_depth,
        # the key a shared frontier claims the URL under (infoshos.spiders.frontier)
        "infoshos_key": key,
    }
