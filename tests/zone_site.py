"""A two-page site whose only article has a dateline without an offset (``02.05.2018 15:40``),
written into a folder and served with ``sites.serve.Site``: for the ``--timezone`` tests."""

from __future__ import annotations

from pathlib import Path

TITLE = "Almaty hosts a meeting of SCO transport ministers"
DATELINE = "02.05.2018 15:40"
PARAGRAPHS = [
    "The transport ministers of the member states of the Shanghai Cooperation Organisation met "
    "in Almaty on Wednesday to discuss new road and rail corridors across Central Asia and the "
    "simplification of border crossings for freight. They heard reports from the national "
    "railway companies on the volume of container traffic, which has grown by almost a third "
    "since the last meeting, and on the delays that trains still face at the borders, where "
    "wagons must be moved between tracks of different gauges.",
    "The ministers agreed to prepare a common plan for the development of international road "
    "transport and asked their experts to report on the first results before the end of the "
    "year, when the heads of government meet again.",
    "Delegations from observer states also took part in the meeting and presented their own "
    "projects for logistics centres and dry ports along the routes that connect China with "
    "Europe and the Middle East.",
]


def write_site(folder: Path, with_article: bool = True) -> Path:
    """The site's files under ``folder`` (created): a home page linking to the article."""
    folder.mkdir(parents=True, exist_ok=True)
    link = '<li><a href="/news/almaty-transport/">Transport ministers meet</a></li>'
    (folder / "index.html").write_text(
        "<!DOCTYPE html><html><head><title>Steppe Courier</title></head><body>"
        f"<h1>Steppe Courier</h1><ul>{link if with_article else ''}</ul></body></html>",
        "utf-8",
    )
    if with_article:
        body = "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
        (folder / "news" / "almaty-transport").mkdir(parents=True, exist_ok=True)
        (folder / "news" / "almaty-transport" / "index.html").write_text(
            f"<!DOCTYPE html><html><head><title>{TITLE}</title></head><body>"
            f'<nav><a href="/">Home</a></nav><main><h1>{TITLE}</h1>'
            f'<div class="dateline">{DATELINE}</div>{body}</main></body></html>',
            "utf-8",
        )
    return folder
