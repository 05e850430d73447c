"""The bundled sample site: an Infoshos-style and an SCO-Secretariat-style portal on 127.0.0.1.

All texts are in ``articles.yaml`` (clean, the ground truth); :mod:`.render` builds the pages and
:mod:`.server` serves them. See docs/CONTRACTS.md for the URL and HTML contract.
"""

from .model import (
    SampleArticle,
    SampleDocument,
    SampleLink,
    expected_articles,
    load_articles,
    load_documents,
    start_urls,
    url_map,
)
from .server import SampleSite, serve_forever

__all__ = [
    "SampleArticle",
    "SampleDocument",
    "SampleLink",
    "SampleSite",
    "expected_articles",
    "load_articles",
    "load_documents",
    "serve_forever",
    "start_urls",
    "url_map",
]
