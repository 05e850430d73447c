"""Pure functions that build every page of the sample site as bytes (see docs/CONTRACTS.md).

Infoshos pages are windows-1251 with the portal's full chrome; Secretariat pages are UTF-8 with
their own chrome. English bodies get a no-break space after short prepositions, written in the
article's ``nbsp_form``; the YAML text stays clean.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from .model import (
    MSK,
    PREPOSITIONS,
    SampleArticle,
    SampleDocument,
    load_articles,
    load_documents,
)

PER_PAGE = 10
INFOSHOS_CANONICAL = "http://infoshos.sample.test/"
SECTSCO_CANONICAL = {
    "eng": "https://eng.sectsco.sample.test/",
    "rus": "https://rus.sectsco.sample.test/",
}

#: How each ``nbsp_form`` writes the no-break space (before encoding).
NBSP_TEXT: dict[str, str] = {
    "nbsp_entity": "&nbsp;",
    "raw_a0": "\u00a0",
    "glued": "",
    "mac_roman": "\u2020",  # 0xA0 read as Mac Roman
    "cp437": "\u00e1",  # 0xA0 read as CP437
    "latin1": "\u00c2\u00a0",  # UTF-8 C2 A0 read as Latin-1
}
_MARK = "\ue000"
_PREP_RE = re.compile(r"(?<![\w'\u2019&;-])(" + "|".join(PREPOSITIONS) + r") ")


@dataclass(frozen=True)
class Page:
    status: int
    content_type: str
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()


@dataclass
class SiteData:
    """All articles, indexed the ways the pages need them."""

    articles: list[SampleArticle] = field(default_factory=load_articles)
    documents: list[SampleDocument] = field(default_factory=load_documents)

    def __post_init__(self) -> None:
        self.by_key = {a.key: a for a in self.articles}
        self.infoshos: dict[str, list[SampleArticle]] = {}
        self.sectsco: dict[str, list[SampleArticle]] = {}
        for a in sorted(self.articles, key=lambda a: (a.published_at, a.key), reverse=True):
            if a.portal == "infoshos":
                self.infoshos.setdefault(a.language, []).append(a)
            else:
                self.sectsco.setdefault(a.edition or "eng", []).append(a)
        self.by_idn = {a.idn: a for a in self.articles if a.portal == "infoshos"}
        self.by_sectsco_path = {
            (a.edition, a.date_path, a.id): a for a in self.articles if a.portal == "sectsco"
        }
        self.documents_by_path = {d.local_path: d for d in self.documents}

    def infoshos_entries(self, lang: str) -> list[tuple[str, str, str]]:
        """(published, title, local path) of every item of an Infoshos list, newest first."""
        items = [(a.published_msk, a.published, a.title, a.local_path) for a in self.infoshos[lang]]
        for d in self.documents:
            if d.portal == "infoshos" and d.language == lang:
                when = datetime.strptime(d.published, "%d.%m.%Y %H:%M").replace(tzinfo=MSK)
                items.append((when, d.published, d.title, d.local_path))
        items.sort(key=lambda x: x[0], reverse=True)
        return [(p, t, u) for _, p, t, u in items]

    def sectsco_entries(self, edition: str) -> list[tuple[SampleArticle, str]]:
        """(article, local path) of every item of a Secretariat list; aliases listed twice."""
        out: list[tuple[SampleArticle, str]] = []
        for a in self.sectsco.get(edition, []):
            out.append((a, a.local_path))
            if a.news_alias and a.alias_path:
                out.append((a, a.alias_path))
        return out


# --------------------------------------------------------------------------- text helpers


def esc(text: str) -> str:
    return html.escape(text, quote=False)


def attr(text: str) -> str:
    return html.escape(text, quote=True)


def nbsp_html(text: str, form: str | None) -> str:
    """Escape ``text`` for HTML, writing a no-break space after each short preposition."""
    if form is None:
        return esc(text)
    marked = _PREP_RE.sub(r"\1" + _MARK, text)
    return esc(marked).replace(_MARK, NBSP_TEXT[form])


def paragraph_html(article: SampleArticle, index: int) -> str:
    """The inner HTML of one body paragraph, with its links."""
    text = article.paragraphs[index]
    form = article.nbsp_form if article.language == "en" else None
    for link in article.links:
        if link.paragraph == index and link.text in text:
            before, _, after = text.partition(link.text)
            return (
                nbsp_html(before, form)
                + f'<a href="{attr(link.href)}">'
                + nbsp_html(link.text, form)
                + "</a>"
                + nbsp_html(after, form)
            )
    return nbsp_html(text, form)


def cp1251(page: str) -> bytes:
    """windows-1251 bytes; characters outside it as ``&#NNN;``."""
    return page.encode("cp1251", errors="xmlcharrefreplace")


def iso_time(a: SampleArticle) -> str:
    return a.published_msk.isoformat(timespec="seconds")


# --------------------------------------------------------------------------- Infoshos chrome

_CLOCK_BASE = datetime(2019, 12, 11, 19, 58, tzinfo=UTC)

#: (English name, Russian name, UTC offset in minutes)
MEMBERS = [
    ("Beijing", "Пекин", 480),
    ("New Delhi", "Нью-Дели", 330),
    ("Astana", "Астана", 360),
    ("Bishkek", "Бишкек", 360),
    ("Islamabad", "Исламабад", 300),
    ("Moscow", "Москва", 180),
    ("Dushanbe", "Душанбе", 300),
    ("Tashkent", "Ташкент", 300),
]
OBSERVERS = [
    ("Kabul", "Кабул", 270),
    ("Minsk", "Минск", 180),
    ("Tehran", "Тегеран", 210),
    ("Ulaanbaatar", "Улан-Батор", 480),
]
PARTNERS = [
    ("Baku", "Баку", 240),
    ("Yerevan", "Ереван", 240),
    ("Phnom Penh", "Пномпень", 420),
    ("Kathmandu", "Катманду", 345),
    ("Ankara", "Анкара", 180),
    ("Sri Dzhayavardenepura Kotte", "Шри-Джаяварденепура-Котте", 330),
]
#: (country en, country ru, code, currency en, currency ru, denomination, rate)
RATES = [
    ("China", "Китай", "CNY", "Yuan", "Юань", 10, "90.57"),
    ("India", "Индия", "INR", "Rupee", "Рупия", 100, "89.13"),
    ("Kazakhstan", "Казахстан", "KZT", "Tenge", "Тенге", 100, "16.48"),
    ("Kyrgyzstan", "Киргизия", "KGS", "Som", "Сом", 100, "90.92"),
    ("Pakistan", "Пакистан", "PKR", "Rupee", "Рупия", 100, "40.87"),
    ("Tajikistan", "Таджикистан", "TJS", "Somoni", "Сомони", 10, "65.31"),
    ("Uzbekistan", "Узбекистан", "UZS", "Sum", "Сум", 10000, "67.02"),
]

RATE_COLS: dict[str, tuple[str, ...]] = {
    "en": ("Country", "Code", "Currency", "Den.", "Rate"),
    "ru": ("Страна", "Код", "Валюта", "Ед.", "Курс"),
}

CHROME: dict[str, dict[str, str]] = {
    "en": {
        "notice": (
            "The website has been created with the financial assistance<br>"
            "of the Federal Agency for Press and Mass Communications<br>"
            "of the Russian Federation"
        ),
        "homepage": "Make Infoshos my homepage",
        "contact": "Contact us",
        "favorites": "Add to Favorites",
        "home": "Home",
        "members": "Member States:",
        "observers": "Observer States:",
        "partners": "Dialogue Partners:",
        "rates": "SCO Currencies/Ruble",
        "rate_note": "The official rate of the Central Bank of Russia",
        "latest": "Latest news",
        "add_comment": "Add Comment",
        "print": "Print",
        "leave": "Leave a comment",
        "name": "Name",
        "comment": "Comment",
        "send": "Send",
        "related": "Related news",
        "news": "News",
        "next": "Next",
        "prev": "Previous",
        "site": "Infoshos",
        "footer": "Infoshos - Information Agency of the Shanghai Cooperation Organisation",
    },
    "ru": {
        "notice": (
            "Сайт создан при финансовой поддержке<br>"
            "Федерального агентства по печати и массовым коммуникациям<br>"
            "Российской Федерации"
        ),
        "homepage": "Сделать Инфошос стартовой",
        "contact": "Обратная связь",
        "favorites": "Добавить в избранное",
        "home": "Главная",
        "members": "Государства-члены:",
        "observers": "Государства-наблюдатели:",
        "partners": "Партнеры по диалогу:",
        "rates": "Валюты ШОС/Рубль",
        "rate_note": "Официальный курс Центрального банка России",
        "latest": "Последние новости",
        "add_comment": "Добавить комментарий",
        "print": "Версия для печати",
        "leave": "Оставить комментарий",
        "name": "Имя",
        "comment": "Комментарий",
        "send": "Отправить",
        "related": "Похожие новости",
        "news": "Новости",
        "next": "Следующая",
        "prev": "Предыдущая",
        "site": "Инфошос",
        "footer": "Инфошос - информационное агентство Шанхайской организации сотрудничества",
    },
}


def _clock_list(places: list[tuple[str, str, int]], lang: str) -> str:
    rows = []
    for en, ru, offset in places:
        t = (_CLOCK_BASE + timedelta(minutes=offset)).strftime("%H:%M")
        rows.append(f'<li><span class="clock">{t}</span>{esc(en if lang == "en" else ru)}</li>')
    return "<ul>" + "".join(rows) + "</ul>"


def _rates_table(lang: str) -> str:
    c = CHROME[lang]
    head = "".join(f"<th>{esc(x)}</th>" for x in RATE_COLS[lang])
    rows = []
    for cen, cru, code, uen, uru, den, rate in RATES:
        country, cur = (cen, uen) if lang == "en" else (cru, uru)
        rows.append(
            f"<tr><td>{esc(country)}</td><td>{code}</td><td>{esc(cur)}</td>"
            f"<td>{den}</td><td>{rate}</td></tr>"
        )
    return (
        f'<div class="rates"><h3>{esc(c["rates"])}</h3><table class="rates-table">'
        f"<tr>{head}</tr>{''.join(rows)}</table><p>{esc(c['rate_note'])}</p></div>"
    )


def _latest_news(data: SiteData, lang: str) -> str:
    items = [a for a in data.infoshos.get(lang, []) if a.broken != "missing_404"][:10]
    rows = "".join(
        f'<div class="latest-item"><span class="latest-date">{a.published}</span><br>'
        f'<a href="{a.local_path}">{esc(a.title)}</a></div>'
        for a in items
    )
    return f'<div class="latest-news"><h3>{esc(CHROME[lang]["latest"])}</h3>{rows}</div>'


def _infoshos_head(title: str, canonical: str, lang: str, meta: bool) -> str:
    meta_tag = (
        '<meta http-equiv="Content-Type" content="text/html; charset=windows-1251">\n'
        if meta
        else ""
    )
    return (
        '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN">\n'
        "<html>\n<head>\n"
        f"{meta_tag}"
        f"<title>{esc(title)} - {esc(CHROME[lang]['site'])}</title>\n"
        f'<link rel="canonical" href="{attr(canonical)}">\n'
        f'<link rel="alternate" type="application/rss+xml" title="RSS" '
        f'href="/infoshos/rss/rss_{lang}.xml">\n'
        '<link rel="stylesheet" type="text/css" href="/infoshos/css/style.css">\n'
        "</head>\n"
    )


def _infoshos_page(
    data: SiteData, lang: str, title: str, canonical: str, center: str, meta: bool = True
) -> str:
    c = CHROME[lang]
    return (
        _infoshos_head(title, canonical, lang, meta) + '<body>\n<div class="page">\n'
        f'<div class="top-notice">{c["notice"]}</div>\n'
        '<div class="top-menu">'
        f'<a href="#" class="homepage" onclick="return false;">{esc(c["homepage"])}</a>'
        f'<a href="mailto:info@infoshos.sample.test" class="contact">{esc(c["contact"])}</a>'
        f'<a href="#" class="favorites" onclick="return false;">{esc(c["favorites"])}</a>'
        f'<a href="/infoshos/{lang}/news/?page=1" class="home">{esc(c["home"])}</a>'
        '<a href="/infoshos/en/news/?page=1" class="lang">English</a>'
        '<a href="/infoshos/ru/news/?page=1" class="lang">Русский</a>'
        "</div>\n"
        '<table class="layout" width="100%" cellpadding="0" cellspacing="0"><tr>\n'
        '<td class="left-column" valign="top">\n'
        f'<div class="countries"><h3>{esc(c["members"])}</h3>{_clock_list(MEMBERS, lang)}'
        f"<h3>{esc(c['observers'])}</h3>{_clock_list(OBSERVERS, lang)}"
        f"<h3>{esc(c['partners'])}</h3>{_clock_list(PARTNERS, lang)}</div>\n"
        f"{_rates_table(lang)}\n"
        f"{_latest_news(data, lang)}\n"
        "</td>\n"
        f'<td class="center-column" valign="top"><div class="center-column-wrap">\n{center}\n'
        "</div></td>\n</tr></table>\n"
        f'<div class="footer">&copy; 2006-2019 {esc(c["footer"])}</div>\n'
        "</div>\n</body>\n</html>\n"
    )


def _related(data: SiteData, a: SampleArticle) -> str:
    pool = [
        x for x in data.infoshos.get(a.language, []) if x.key != a.key and x.broken != "missing_404"
    ]
    pool.sort(key=lambda x: (abs((x.idn or 0) - (a.idn or 0)), x.idn or 0))
    rows = "".join(
        f'<div class="related-item"><a href="{x.local_path}">{esc(x.title)}</a>'
        f'<br><span class="related-date">{x.published}</span></div>'
        for x in pool[:5]
    )
    return f'<div class="related"><h3>{esc(CHROME[a.language]["related"])}</h3>{rows}</div>'


def _infoshos_body(a: SampleArticle) -> str:
    parts = [f'<h1 class="title">{esc(a.title)}</h1>']
    if a.broken != "no_date":
        parts.append(f'<div class="date">{a.published}</div>')
    if a.subtitle:
        parts.append(f'<div class="lead">{esc(a.subtitle)}</div>')
    if a.broken != "empty_body":
        parts.extend(f"<p>{paragraph_html(a, i)}</p>" for i in range(len(a.paragraphs)))
    return "\n".join(parts)


def _truncate(page: bytes) -> bytes:
    """Cut a page off in the middle of its second body paragraph."""
    start = page.index(b'<td class="text">')
    first = page.index(b"<p>", start)
    second = page.find(b"<p>", first + 3)
    at = (second if second > 0 else first) + 3 + 70
    cut = page.rfind(b" ", 0, at)
    return page[:cut]


def infoshos_article(data: SiteData, a: SampleArticle) -> bytes:
    c = CHROME[a.language]
    center = (
        '<table class="article" width="100%"><tr><td class="text">\n'
        f"{_infoshos_body(a)}\n"
        "</td></tr></table>\n"
        f'<div class="article-tools">&bull; <a href="#comment" class="add-comment">'
        f"{esc(c['add_comment'])}</a> &bull; "
        f'<a href="/infoshos/{a.language}/print.php?idn={a.idn}" class="print">'
        f"{esc(c['print'])}</a></div>\n"
        f'<a name="comment"></a><form class="comment-form" method="post" action="#">'
        f"<h3>{esc(c['leave'])}</h3>"
        f'<label>{esc(c["name"])} <input type="text" name="name"></label><br>'
        f'<label>{esc(c["comment"])} <textarea name="comment"></textarea></label><br>'
        f'<input type="submit" value="{attr(c["send"])}"></form>\n'
        f"{_related(data, a)}"
    )
    meta = a.encoding_variant not in ("header_only", "none")
    page = _infoshos_page(data, a.language, a.title, a.canonical_url, center, meta=meta)
    out = cp1251(page)
    if a.php_warning:
        out = (
            b"<br />\n<b>Warning</b>:  mysql_connect(): Too many connections in "
            b"<b>/var/www/infoshos/include/db.php</b> on line <b>14</b><br />\n" + out
        )
    if a.broken == "truncated":
        out = _truncate(out)
    return out


def infoshos_print(a: SampleArticle) -> bytes:
    parts = [f'<h1 class="title">{esc(a.title)}</h1>']
    if a.broken != "no_date":
        parts.append(f'<div class="date">{a.published}</div>')
    if a.subtitle:
        parts.append(f'<div class="lead">{esc(a.subtitle)}</div>')
    body = ""
    if a.broken != "empty_body":
        body = "".join(f"<p>{paragraph_html(a, i)}</p>\n" for i in range(len(a.paragraphs)))
    meta = a.encoding_variant not in ("header_only", "none")
    canonical = f"{INFOSHOS_CANONICAL}{a.language}/print.php?idn={a.idn}"
    page = (
        _infoshos_head(a.title, canonical, a.language, meta)
        + '<body class="print" onload="window.print()">\n'
        + "\n".join(parts)
        + f'\n<div class="text">\n{body}</div>\n'
        + f'<div class="source">{esc(a.canonical_url)}</div>\n</body>\n</html>\n'
    )
    out = cp1251(page)
    if a.broken == "truncated":
        cut = out.rfind(b" ", 0, out.index(b"<p>") + 120)
        out = out[:cut]
    return out


def infoshos_list_pages(data: SiteData, lang: str) -> int:
    n = len(data.infoshos_entries(lang))
    return max(1, (n + PER_PAGE - 1) // PER_PAGE)


def infoshos_list(data: SiteData, lang: str, page: int) -> bytes:
    c = CHROME[lang]
    entries = data.infoshos_entries(lang)
    chunk = entries[(page - 1) * PER_PAGE : page * PER_PAGE]
    rows = "\n".join(
        f'<div class="news-item"><span class="date">{p}</span> <a href="{u}">{esc(t)}</a></div>'
        for p, t, u in chunk
    )
    nav = []
    if page > 1:
        nav.append(f'<a class="prev" href="/infoshos/{lang}/news/?page={page - 1}">{c["prev"]}</a>')
    if page < infoshos_list_pages(data, lang):
        nav.append(f'<a class="next" href="/infoshos/{lang}/news/?page={page + 1}">{c["next"]}</a>')
    center = (
        f'<h1 class="list-title">{esc(c["news"])}</h1>\n<div class="news-list">\n{rows}\n</div>\n'
        f'<div class="pager">{" ".join(nav)}</div>'
    )
    canonical = f"{INFOSHOS_CANONICAL}{lang}/news/?page={page}"
    return cp1251(_infoshos_page(data, lang, c["news"], canonical, center))


def infoshos_rss(data: SiteData, lang: str, base_url: str, limit: int = 15) -> bytes:
    base = base_url.rstrip("/")
    items = []
    for a in [x for x in data.infoshos.get(lang, []) if x.broken != "missing_404"][:limit]:
        desc = a.subtitle or (a.paragraphs[0] if a.paragraphs else a.title)
        link = base + a.local_path
        items.append(
            "<item>\n"
            f"<title>{esc(a.title)}</title>\n"
            f"<link>{esc(link)}</link>\n"
            f'<guid isPermaLink="true">{esc(link)}</guid>\n'
            f"<pubDate>{format_datetime(a.published_msk)}</pubDate>\n"
            f"<description>{esc(desc)}</description>\n"
            "</item>"
        )
    c = CHROME[lang]
    doc = (
        '<?xml version="1.0" encoding="windows-1251"?>\n'
        '<rss version="2.0">\n<channel>\n'
        f"<title>{esc(c['site'])}</title>\n"
        f"<link>{base}/infoshos/{lang}/news/?page=1</link>\n"
        f"<description>{esc(c['footer'])}</description>\n"
        f"<language>{lang}</language>\n" + "\n".join(items) + "\n</channel>\n</rss>\n"
    )
    return cp1251(doc)


# --------------------------------------------------------------------------- Secretariat

SECTSCO_NAV: dict[str, tuple[str, ...]] = {
    "eng": ("About SCO", "News", "Documents", "Secretariat", "Contacts"),
    "rus": ("О ШОС", "Новости", "Документы", "Секретариат", "Контакты"),
}
#: edition -> (the other edition, its label)
SECTSCO_OTHER: dict[str, tuple[str, str]] = {"eng": ("rus", "Русский"), "rus": ("eng", "English")}

SECTSCO_CHROME: dict[str, dict[str, str]] = {
    "eng": {
        "lang": "en",
        "org": "Shanghai Cooperation Organisation",
        "latest": "Latest news",
        "news": "News",
        "next": "Next page",
        "prev": "Previous page",
        "footer": "SCO Secretariat. All rights reserved.",
        "doc": "Download the document (PDF)",
    },
    "rus": {
        "lang": "ru",
        "org": "Шанхайская организация сотрудничества",
        "latest": "Последние новости",
        "news": "Новости",
        "next": "Следующая страница",
        "prev": "Предыдущая страница",
        "footer": "Секретариат ШОС. Все права защищены.",
        "doc": "Скачать документ (PDF)",
    },
}


def _sectsco_page(data: SiteData, edition: str, title: str, canonical: str, main: str) -> bytes:
    c = SECTSCO_CHROME[edition]
    nav_items = []
    for i, label in enumerate(SECTSCO_NAV[edition]):
        href = f"/sectsco/{edition}/news/?offset=0" if i == 1 else "#"
        nav_items.append(f'<li><a href="{href}">{esc(label)}</a></li>')
    other, other_label = SECTSCO_OTHER[edition]
    latest = "".join(
        f'<li class="aside-item"><time datetime="{iso_time(a)}">{a.published[:10]}</time> '
        f'<a href="{a.local_path}">{esc(a.title)}</a></li>'
        for a in data.sectsco.get(edition, [])[:5]
    )
    page = (
        f'<!DOCTYPE html>\n<html lang="{c["lang"]}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)} | {esc(c['org'])}</title>\n"
        f'<link rel="canonical" href="{attr(canonical)}">\n'
        f'<link rel="stylesheet" href="/sectsco/{edition}/static/main.css">\n</head>\n<body>\n'
        '<header class="site-header">\n'
        f'<div class="logo"><a href="/sectsco/{edition}/news/?offset=0">{esc(c["org"])}</a></div>\n'
        f'<nav class="main-nav"><ul>{"".join(nav_items)}'
        f'<li class="lang"><a href="/sectsco/{other}/news/?offset=0">{other_label}</a></li>'
        "</ul></nav>\n</header>\n"
        f'<main class="container">\n<div class="content">\n{main}\n</div>\n'
        f'<aside class="sidebar"><h3>{esc(c["latest"])}</h3><ul>{latest}</ul></aside>\n'
        "</main>\n"
        f'<footer class="site-footer"><p>&copy; 2001-2019 {esc(c["footer"])}</p></footer>\n'
        "</body>\n</html>\n"
    )
    return page.encode("utf-8")


def sectsco_article(data: SiteData, a: SampleArticle) -> bytes:
    edition = a.edition or "eng"
    body = [f'<h2 class="news-heading">{esc(a.title)}</h2>']
    if a.subtitle:
        body.append(f'<p class="lead">{esc(a.subtitle)}</p>')
    body.extend(f"<p>{paragraph_html(a, i)}</p>" for i in range(len(a.paragraphs)))
    if a.doc_link:
        label = SECTSCO_CHROME[edition]["doc"]
        body.append(f'<a class="doc-link" href="/sectsco/{edition}/{a.doc_link}">{label}</a>')
    shown = a.published_msk.strftime("%d.%m.%Y %H:%M")
    main = (
        '<article class="news-detail">\n'
        f'<h1 class="news-title">{esc(a.title)}</h1>\n'
        f'<time datetime="{iso_time(a)}">{shown}</time>\n'
        '<div class="news-body">\n' + "\n".join(body) + "\n</div>\n</article>"
    )
    return _sectsco_page(data, edition, a.title, a.canonical_url, main)


def sectsco_list_size(data: SiteData, edition: str) -> int:
    return len(data.sectsco_entries(edition))


def sectsco_list(data: SiteData, edition: str, offset: int) -> bytes:
    c = SECTSCO_CHROME[edition]
    entries = data.sectsco_entries(edition)
    rows = "\n".join(
        f'<div class="news-item"><a href="{path}">{esc(a.title)}</a> '
        f'<time datetime="{iso_time(a)}">{a.published[:10]}</time></div>'
        for a, path in entries[offset : offset + PER_PAGE]
    )
    nav = []
    if offset > 0:
        prev = max(0, offset - PER_PAGE)
        nav.append(f'<a class="prev" href="/sectsco/{edition}/news/?offset={prev}">{c["prev"]}</a>')
    if offset + PER_PAGE < len(entries):
        nxt = offset + PER_PAGE
        nav.append(f'<a class="next" href="/sectsco/{edition}/news/?offset={nxt}">{c["next"]}</a>')
    main = (
        f'<h1 class="page-title">{esc(c["news"])}</h1>\n<div class="news-list">\n{rows}\n</div>\n'
        f'<div class="pagination">{" ".join(nav)}</div>'
    )
    canonical = f"{SECTSCO_CANONICAL[edition]}news/?offset={offset}"
    return _sectsco_page(data, edition, c["news"], canonical, main)


# --------------------------------------------------------------------------- other files


def pdf_bytes(title: str) -> bytes:
    """A small, well-formed one-page PDF whose page shows ``title``."""
    safe = title.encode("ascii", errors="replace").replace(b"(", b"[").replace(b")", b"]")
    stream = b"BT /F1 12 Tf 72 720 Td (" + safe + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for i, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += str(i).encode() + b" 0 obj\n" + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 " + str(len(objects) + 1).encode() + b"\n0000000000 65535 f \n"
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size " + str(len(objects) + 1).encode() + b" /Root 1 0 R >>\n"
    out += b"startxref\n" + str(xref).encode() + b"\n%%EOF\n"
    return out


ROBOTS = b"User-agent: *\nDisallow:\n"
