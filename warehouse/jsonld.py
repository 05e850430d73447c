"""What a page's JSON-LD says it is: the schema.org types of an article, declared once.

Whatever reads a page's JSON-LD (``<script type="application/ld+json">``), in the spiders or
in the flows, asks :func:`is_article_type` whether an ``@type`` names an article. The types are
schema.org's ``Article`` and every type below it:

- the news article and its kinds: ``NewsArticle``, ``AnalysisNewsArticle``,
  ``AskPublicNewsArticle``, ``BackgroundNewsArticle``, ``OpinionNewsArticle``,
  ``ReportageNewsArticle``, ``ReviewNewsArticle``;
- ``Report``, ``SatiricalArticle`` and ``AdvertiserContentArticle`` (sponsored content is
  still an article);
- postings: ``SocialMediaPosting``, ``BlogPosting``, ``LiveBlogPosting``,
  ``DiscussionForumPosting``;
- ``ScholarlyArticle``, ``MedicalScholarlyArticle``, ``TechArticle``, ``APIReference``: a
  portal's analyses and papers may be typed so, and their ``headline`` and ``datePublished``
  mean what a news article's do.

Rules:

- A type matches whatever its case, written as a bare name (``NewsArticle``), a compact IRI
  (``schema:NewsArticle``) or a full one (``https://schema.org/NewsArticle``, ``http://`` too).
- ``WebPage`` and its kinds are not article types: they describe the page, whatever is on it
  (listings and contact pages declare them too).
- The markup never decides whether a page *is* an article: that is the clean stage's one rule
  (:mod:`infoshos.flows.clean.detect`), from the content. These types only say which JSON-LD
  object describes a page's article (its headline, date and description).
"""

from __future__ import annotations

__all__ = ["ARTICLE_TYPES", "is_article_type", "type_name"]

#: schema.org's ``Article`` and its subtypes, as schema.org spells them.
ARTICLE_TYPES = frozenset(
    {
        "Article",
        "NewsArticle",
        "AnalysisNewsArticle",
        "AskPublicNewsArticle",
        "BackgroundNewsArticle",
        "OpinionNewsArticle",
        "ReportageNewsArticle",
        "ReviewNewsArticle",
        "Report",
        "SatiricalArticle",
        "AdvertiserContentArticle",
        "SocialMediaPosting",
        "BlogPosting",
        "LiveBlogPosting",
        "DiscussionForumPosting",
        "ScholarlyArticle",
        "MedicalScholarlyArticle",
        "TechArticle",
        "APIReference",
    }
)

_FOLDED = frozenset(t.casefold() for t in ARTICLE_TYPES)
_PREFIXES = ("https://schema.org/", "http://schema.org/", "schema:")


def type_name(value: str) -> str:
    """An ``@type`` value without its schema.org prefix, case-folded: ``newsarticle``."""
    name = value.strip()
    folded = name.casefold()
    for prefix in _PREFIXES:
        if folded.startswith(prefix):
            return folded[len(prefix) :]
    return folded


def is_article_type(value: object) -> bool:
    """Whether an ``@type`` value (a string, or a list of them) names an article type."""
    values = value if isinstance(value, list) else [value]
    return any(isinstance(v, str) and type_name(v) in _FOLDED for v in values)
