# ruff: noqa: E501  (HTML templates copied after real CMS output keep their long lines)
"""Writes the corpus: every site's page files (the exact bytes served) and its truth.json.

    python tests/corpus/generate.py

The pages are committed and are the test data; this script is how they were made, kept so that
a page can be changed and the corpus rebuilt with its truth in step. Article texts live in
``texts/*.txt`` (``lang:``, ``title:``, optional ``credit:``, then paragraphs separated by blank
lines; ``†`` marks a no-break space, rendered per page as ``&nbsp;``, U+00A0 or a space, and a
plain space in the truth). Each site renders them in its own markup; the markup was written after
real CMS output (table portals, 1C-Bitrix ``news.detail``, WordPress themes, AMP, print pages, a
BEM redesign), not after this project's extractor. Truth conventions: ``text`` is the body
paragraphs joined by one blank line; titles, datelines, image captions, share buttons, tags and
a trailing "Source: ..." line (kept in ``credit``) are not body text.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

HERE = Path(__file__).resolve().parent
EN_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
RU_MONTHS_GEN = [
    "января",
    "февраля",
    "марта",
    "апреля",
    "мая",
    "июня",
    "июля",
    "августа",
    "сентября",
    "октября",
    "ноября",
    "декабря",
]


@dataclass
class Text:
    key: str
    lang: str
    title: str
    paras: list[str]
    credit: str | None = None


def load_text(key: str) -> Text:
    raw = (HERE / "texts" / f"{key}.txt").read_text(encoding="utf-8")
    head, _, body = raw.partition("\n\n")
    meta = dict(line.split(": ", 1) for line in head.splitlines())
    paras = [p.strip() for p in body.split("\n\n") if p.strip()]
    return Text(key, meta["lang"], meta["title"], paras, meta.get("credit"))


def esc(s: str, nbsp: str = " ") -> str:
    return html.escape(s, quote=False).replace("†", nbsp)


def plain(s: str) -> str:
    return s.replace("†", " ")


def bold_lead(p: str) -> str:
    """``<strong>`` around the opening clause (up to the first comma), as editors do."""
    cut = p.find(",")
    if 0 < cut < 45:
        return f"<strong>{p[: cut + 1]}</strong>{p[cut + 1 :]}"
    return p


def link_first(p: str, word: str, href: str) -> str:
    return re.sub(rf"\b{re.escape(word)}\b", f'<a href="{href}">{word}</a>', p, count=1)


def fmt_dots(d: datetime) -> str:
    return d.strftime("%d.%m.%Y %H:%M")


def fmt_en(d: datetime) -> str:
    return f"{d.day} {EN_MONTHS[d.month - 1]} {d.year}, {d:%H:%M}"


def fmt_us(d: datetime) -> str:
    hour = d.hour % 12 or 12
    half = "am" if d.hour < 12 else "pm"
    return f"{EN_MONTHS[d.month - 1]} {d.day}, {d.year} at {hour}:{d:%M} {half}"


def fmt_ru(d: datetime) -> str:
    return f"{d.day} {RU_MONTHS_GEN[d.month - 1]} {d.year} г., {d:%H:%M}"


def fixed(hours: int) -> timezone:
    return timezone(timedelta(hours=hours))


@dataclass
class Page:
    path: str
    url: str
    markup: str
    encoding: str = "utf-8"
    content_type: str = "text/html; charset=utf-8"
    prefix: str = ""  # bytes printed before <html> (a PHP warning)
    text: Text | None = None
    when: datetime | None = None
    absent: list[str] = field(default_factory=list)
    why: str = ""

    def body(self) -> bytes:
        return (self.prefix + self.markup).encode(self.encoding, errors="xmlcharrefreplace")

    def truth(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"url": self.url, "content_type": self.content_type}
        if self.text is None:
            entry.update(article=False, why=self.why)
            return entry
        assert self.when is not None
        text = "\n\n".join(plain(p) for p in self.text.paras)
        for s in self.absent:
            assert s not in text and (s in self.markup or s in self.prefix), (self.path, s)
        entry.update(
            article=True,
            title=plain(self.text.title),
            published_at=self.when.isoformat(),
            language=self.text.lang,
            text=text,
            absent=self.absent,
        )
        if self.text.credit:
            entry["credit"] = self.text.credit
        return entry


def php_warning(path: str) -> str:
    return (
        "<br />\n<b>Warning</b>:  getimagesize(/var/www/portal/upload/news/"
        f"{path}): failed to open stream: No such file or directory in "
        "<b>/var/www/plugins/news.php</b> on line <b>40</b><br />\n"
    )


# ----------------------------------------------------------------------------- table-portal
TP_BASE = "http://table-portal.corpus.test/"
TP: dict[str, dict[str, Any]] = {
    "en": {
        "fund": "The website has been created with the financial assistance<br>\n"
        "of the Federal Agency for Press and Mass Communications<br>\nof the Russian Federation",
        "top": ["Make SCOinfo my homepage", "Contact us", "Add to Favorites", "Home"],
        "members": "Member States:",
        "observers": "Observer States:",
        "states": ["India", "Kazakhstan", "China", "Kyrgyzstan", "Pakistan", "Russia"],
        "obs": ["Afghanistan", "Belarus", "Iran", "Mongolia"],
        "clocks": [
            ("02:58", "Phnom Penh"),
            ("01:28", "Sri Dzhayavardenepura Kotte"),
            ("22:58", "Moscow"),
            ("03:58", "Beijing"),
        ],
        "rates_title": "SCO Currencies/Ruble",
        "rates_head": ["Country", "Code", "Currency", "Den.", "Rate"],
        "rates": [
            ("China", "CNY", "Yuan", "10", "91,5482"),
            ("India", "INR", "Rupee", "100", "89,3007"),
            ("Kazakhstan", "KZT", "Tenge", "100", "16,7151"),
        ],
        "rates_note": "The official rate of the Central Bank of Russia",
        "news": "News",
        "side": [
            ("11.12.2019 13:58", "India Sees Nationwide Protests Over Citizenship Bill"),
            ("09.12.2019 18:17", "Pakistan Army Rejects Reports of Joint Border Patrols"),
            ("09.12.2019 15:05", "Uzbekistan plans to chair SCO in 2022"),
            ("03.12.2019 18:25", "Iran Eyes Closer Scientific Interaction with SCO"),
        ],
        "after": ["Add Comment", "Print"],
        "comment": "Leave a comment",
        "other": "Other news",
        "copy": "&copy; 2007-2019 SCO Info Portal. Reprinting is allowed with a hyperlink.",
    },
    "ru": {
        "fund": "Сайт создан при финансовой поддержке<br>\nФедерального агентства по печати и "
        "массовым коммуникациям<br>\nРоссийской Федерации",
        "top": ["Сделать стартовой", "Обратная связь", "В избранное", "Главная"],
        "members": "Государства-члены:",
        "observers": "Государства-наблюдатели:",
        "states": ["Индия", "Казахстан", "Китай", "Кыргызстан", "Пакистан", "Россия"],
        "obs": ["Афганистан", "Беларусь", "Иран", "Монголия"],
        "clocks": [
            ("02:58", "Пномпень"),
            ("03:58", "Пекин"),
            ("00:58", "Душанбе"),
            ("22:58", "Москва"),
        ],
        "rates_title": "Курсы валют ШОС/Рубль",
        "rates_head": ["Страна", "Код", "Валюта", "Ед.", "Курс"],
        "rates": [
            ("Китай", "CNY", "Юань", "10", "91,5482"),
            ("Индия", "INR", "Рупия", "100", "89,3007"),
            ("Казахстан", "KZT", "Тенге", "100", "16,7151"),
        ],
        "rates_note": "Официальный курс ЦБ РФ",
        "news": "Новости",
        "side": [
            ("11.12.2019 13:58", "В Индии прошли протесты против закона о гражданстве"),
            ("09.12.2019 15:05", "Узбекистан планирует председательствовать в ШОС в 2022 году"),
            ("03.12.2019 18:25", "Иран намерен расширить научное взаимодействие с ШОС"),
            ("26.11.2019 15:21", "Непал добивается полноправного членства в ШОС"),
        ],
        "after": ["Добавить комментарий", "Версия для печати"],
        "comment": "Оставить комментарий",
        "other": "Другие новости",
        "copy": "&copy; 2007-2019 ИнфоШОС. Перепечатка разрешена при наличии гиперссылки.",
    },
}


def tp_frame(lang: str, title: str, center: str, declared: bool) -> str:
    c = TP[lang]
    meta = (
        '<meta http-equiv="Content-Type" content="text/html; charset=utf-8">\n' if declared else ""
    )
    top = " | ".join(f'<a href="/{lang}/" class="toplink">{t}</a>' for t in c["top"])
    states = "".join(f'<a href="/{lang}/?country={s}">{s}</a><br>\n' for s in c["states"])
    obs = "".join(f'<a href="/{lang}/?country={s}">{s}</a><br>\n' for s in c["obs"])
    clocks = "".join(
        f'<tr><td class="clock-time"><b>{t}</b></td><td class="clock-city">{city}</td></tr>\n'
        for t, city in c["clocks"]
    )
    head = "".join(f"<td><b>{h}</b></td>" for h in c["rates_head"])
    rates = "".join(
        "<tr>" + "".join(f"<td>{v}</td>" for v in row) + "</tr>\n" for row in c["rates"]
    )
    side = "".join(
        f'<tr><td class="sdate">{d}</td></tr>\n<tr><td class="slink">'
        f'<a href="/{lang}/?idn={30000 + i}">{h}</a></td></tr>\n'
        for i, (d, h) in enumerate(c["side"])
    )
    return f"""<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN">
<html>
<head>
<title>{title}</title>
{meta}<link rel="stylesheet" href="/css/style.css" type="text/css">
<script language="JavaScript" src="/js/clock.js"></script>
</head>
<body bgcolor="#FFFFFF" leftmargin="0" topmargin="0" marginwidth="0" marginheight="0">
<table width="100%" border="0" cellpadding="0" cellspacing="0">
  <tr>
    <td class="fund" colspan="2" align="right"><font size="1" color="#666666">{c["fund"]}</font></td>
  </tr>
  <tr>
    <td colspan="2" class="toplinks">{top}</td>
  </tr>
  <tr>
    <td width="210" valign="top" class="left">
      <table width="100%" border="0" cellspacing="0" cellpadding="2">
        <tr><td class="lhead">{c["members"]}</td></tr>
        <tr><td>{states}</td></tr>
        <tr><td class="lhead">{c["observers"]}</td></tr>
        <tr><td>{obs}</td></tr>
      </table>
      <table width="100%" border="0" cellspacing="0" cellpadding="1" class="clocks">
{clocks}      </table>
      <br>
      <table width="100%" border="1" cellspacing="0" cellpadding="1" class="rates">
        <tr><td colspan="5" class="lhead">{c["rates_title"]}</td></tr>
        <tr>{head}</tr>
{rates}        <tr><td colspan="5"><font size="1">{c["rates_note"]}</font></td></tr>
      </table>
      <br>
      <table width="100%" border="0" cellspacing="0" cellpadding="2" class="lastnews">
        <tr><td class="lhead">{c["news"]}</td></tr>
{side}      </table>
    </td>
    <td valign="top" class="center">
{center}
    </td>
  </tr>
  <tr>
    <td colspan="2" class="footer" align="center"><font size="1">{c["copy"]}</font></td>
  </tr>
</table>
</body>
</html>
"""


def tp_article(text: Text, when: datetime, mode: str, nbsp: str, declared: bool) -> str:
    c = TP[text.lang]
    if mode == "br":
        body = "<br /><br />\r\n".join(esc(p, nbsp) for p in text.paras)
        body = (
            '<div class="border-round"><div style="background: url(/upload/news/lead.jpg) '
            'no-repeat center; width: 300px; height: 200px;"></div></div>\r\n' + body
        )
    elif mode == "div":
        body = "\n".join(f"<div>{esc(p, nbsp)}</div>" for p in text.paras)
    else:
        parts = [f"<p>{bold_lead(esc(text.paras[0], nbsp))}</p>"]
        parts += [f'<p align="justify">{esc(p, nbsp)}</p>' for p in text.paras[1:]]
        parts.insert(2, "<p>&nbsp;</p>")
        body = "\n".join(parts)
    after = " | ".join(f'<a href="#">{a}</a>' for a in c["after"])
    other = "".join(
        f'<tr><td><a href="/{text.lang}/?idn={31000 + i}">{h}</a> <font size="1">{d}</font>'
        "</td></tr>\n"
        for i, (d, h) in enumerate(reversed(c["side"]))
    )
    center = f"""      <table width="100%" border="0" cellspacing="0" cellpadding="6">
        <tr><td class="path"><a href="/{text.lang}/">{c["top"][3]}</a> &raquo; <a href="/{text.lang}/news.php">{c["news"]}</a></td></tr>
        <tr><td><font size="4" color="#003366"><b>{esc(text.title)}</b></font></td></tr>
        <tr><td><font size="1" color="#999999">{fmt_dots(when)}</font></td></tr>
        <tr>
          <td class="text">
<!-- news text -->
{body}
<!-- /news text -->
          </td>
        </tr>
        <tr><td align="right">{after}</td></tr>
        <tr><td><b>{c["comment"]}</b><br>
          <form action="/{text.lang}/comment.php" method="post"><textarea name="c" cols="40" rows="4"></textarea><br><input type="submit" value="OK"></form>
        </td></tr>
        <tr><td class="lhead">{c["other"]}</td></tr>
{other}      </table>"""
    return tp_frame(text.lang, f"{esc(text.title)} - {c['news']}", center, declared)


def tp_center(lang: str, heading: str, inner: str) -> str:
    return f"""      <table width="100%" border="0" cellspacing="0" cellpadding="6">
        <tr><td><font size="4" color="#003366"><b>{heading}</b></font></td></tr>
        <tr><td class="text">
{inner}
        </td></tr>
      </table>"""


def table_portal() -> tuple[dict[str, Any], list[Page]]:
    tz = ZoneInfo("Europe/Moscow")
    en_absent = [
        "Phnom Penh",
        "91,5482",
        "Federal Agency for Press",
        "Add to Favorites",
        "Uzbekistan plans to chair SCO in 2022",
        "Leave a comment",
        "Observer States",
    ]
    ru_absent = [
        "Пномпень",
        "91,5482",
        "Федерального агентства по печати",
        "В избранное",
        "Непал добивается полноправного членства в ШОС",
        "Оставить комментарий",
    ]
    pages: list[Page] = []
    specs: list[tuple[str, str, datetime, str, str, bool, bool]] = [
        (
            "en/idn-15702.html",
            "en-cto",
            datetime(2017, 9, 21, 13, 22, tzinfo=tz),
            "br",
            "&nbsp;",
            True,
            True,
        ),
        (
            "ru/idn-34769.html",
            "ru-cto",
            datetime(2017, 9, 21, 12, 57, tzinfo=tz),
            "p",
            "\xa0",
            False,
            False,
        ),
        (
            "en/idn-24567.html",
            "en-pakistan",
            datetime(2019, 3, 14, 17, 5, tzinfo=tz),
            "div",
            " ",
            True,
            False,
        ),
        (
            "ru/idn-40121.html",
            "ru-pakistan",
            datetime(2019, 3, 14, 16, 48, tzinfo=tz),
            "br",
            "&nbsp;",
            False,
            True,
        ),
    ]
    for path, key, when, mode, nbsp, declared, warn in specs:
        text = load_text(key)
        lang, idn = path.split("/")[0], path.split("-")[1].split(".")[0]
        page = Page(
            path,
            f"{TP_BASE}{lang}/?idn={idn}",
            tp_article(text, when, mode, nbsp, declared),
            encoding="utf-8" if declared else "cp1251",
            content_type="text/html",
            prefix=php_warning(f"{idn}.jpg") if warn else "",
            text=text,
            when=when,
            absent=(en_absent if lang == "en" else ru_absent) + (["getimagesize"] if warn else []),
        )
        pages.append(page)
    items = "".join(
        f'<p><font size="1">{d}</font><br><a href="/en/?idn={24500 + i}"><b>{h}</b></a></p>\n'
        for i, (d, h) in enumerate(
            [
                ("14.03.2019 17:05", "SCO Secretary-General receives Ambassador of Pakistan"),
                ("12.03.2019 11:40", "SCO observers to attend Bishkek summit"),
                ("05.03.2019 09:15", "RATS experts meet in Tashkent"),
                (
                    "21.09.2017 13:22",
                    "SCO Secretary-General meets with CTO Under-Secretary-General",
                ),
            ]
        )
    )
    pages += [
        Page(
            "en/news.html",
            f"{TP_BASE}en/news.php",
            tp_frame(
                "en",
                "News",
                tp_center(
                    "en", "News", items + '<p><a href="/en/news.php?page=2">Next &gt;&gt;</a></p>'
                ),
                True,
            ),
            content_type="text/html",
            why="headline listing",
        ),
        Page(
            "en/tag-pakistan.html",
            f"{TP_BASE}en/?tag=Pakistan",
            tp_frame(
                "en",
                "Tag: Pakistan",
                tp_center("en", "Tag: Pakistan", items.split("</p>")[0] + "</p>"),
                True,
            ),
            content_type="text/html",
            why="tag page with one headline",
        ),
        Page(
            "ru/contacts.html",
            f"{TP_BASE}ru/?contacts",
            tp_frame(
                "ru",
                "Контакты",
                tp_center(
                    "ru",
                    "Контакты",
                    "Адрес редакции: 119991, Москва, ул. Пречистенка, д. 12.<br>\n"
                    'Телефон: +7 (495) 123-45-67<br>\nE-mail: <a href="mailto:info@portal.test">'
                    "info@portal.test</a><br><br>\nПишите нам, мы ответим в течение трех рабочих дней.",
                ),
                False,
            ),
            encoding="cp1251",
            content_type="text/html",
            why="contact page",
        ),
        Page(
            "en/analytics.html",
            f"{TP_BASE}en/?section=analytics",
            tp_frame(
                "en",
                "Analytics",
                tp_center("en", "Analytics", "<p>This section is under construction.</p>"),
                True,
            ),
            content_type="text/html",
            why="stub: under construction",
        ),
        Page(
            "en/idn-1.html",
            f"{TP_BASE}en/?idn=1",
            tp_frame(
                "en",
                "About the portal",
                tp_center(
                    "en",
                    "About the portal",
                    "<p>The SCO Info Portal is an information and analytical resource about the Shanghai "
                    "Cooperation Organisation. It publishes news of the member states, observer states "
                    "and dialogue partners, official documents, interviews and analytical articles.</p>\n"
                    "<p>The portal is published in Russian and English. Our editors work in Moscow and "
                    "cooperate with news agencies of all SCO countries. Reprinting of materials is "
                    "allowed with a hyperlink to the portal.</p>",
                ),
                True,
            ),
            content_type="text/html",
            why="About page on the article URL shape, no dateline",
        ),
    ]
    return {"timezone": "Europe/Moscow", "style": "generic", "base_url": TP_BASE}, pages


# ----------------------------------------------------------------------------- bitrix-news
BX_BASE = "http://bitrix-news.corpus.test/"
BX: dict[str, dict[str, Any]] = {
    "ru": {
        "site": "Информационный центр ШОС",
        "home": "Главная",
        "press": "Пресс-центр",
        "news": "Новости",
        "menu": ["О центре", "Пресс-центр", "Новости", "Фотогалерея", "Документы", "Контакты"],
        "subscribe": "Подписка на новости центра",
        "back": "Возврат к списку",
        "other": "Другие новости",
        "share": "Поделиться",
        "search": "Поиск по сайту",
        "copy": "&copy; 2019 &laquo;Информационный центр ШОС&raquo;. Все права защищены.",
        "dev": "Разработка сайта &mdash; веб-студия &laquo;Альфа&raquo;",
        "others": [
            ("01.04.2019", "В Душанбе прошли консультации экспертов РАТС ШОС"),
            ("28.03.2019", "Делегация ШОС посетила Ханчжоу"),
            ("20.03.2019", "Открыт прием заявок на форум молодых ученых"),
        ],
    },
    "en": {
        "site": "SCO Information Centre",
        "home": "Home",
        "press": "Press centre",
        "news": "News",
        "menu": [
            "About the centre",
            "Press centre",
            "News",
            "Photo gallery",
            "Documents",
            "Contacts",
        ],
        "subscribe": "Subscribe to our news",
        "back": "Back to the list",
        "other": "Other news",
        "share": "Share",
        "search": "Search the site",
        "copy": "&copy; 2019 SCO Information Centre. All rights reserved.",
        "dev": "Website by Alfa web studio",
        "others": [
            ("01.04.2019", "RATS experts hold consultations in Dushanbe"),
            ("28.03.2019", "SCO delegation visits Hangzhou"),
            ("20.03.2019", "Applications open for the young scientists forum"),
        ],
    },
}


ANGLE = '<i class="fa fa-angle-right"></i>'


def bx_frame(
    lang: str, title: str, crumbs: list[tuple[str, str]], work: str, declared: bool
) -> str:
    c = BX[lang]
    pre = "" if lang == "ru" else "/en"
    meta = (
        '<meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />\r\n'
        if declared
        else ""
    )
    menu = "\r\n".join(
        f'\t\t\t<li><a href="{pre}/{i}/">{m}</a></li>' for i, m in enumerate(c["menu"])
    )
    crumb = "".join(
        f'<div class="bx-breadcrumb-item" id="bx_breadcrumb_{i}" itemprop="itemListElement" '
        f'itemscope itemtype="http://schema.org/ListItem">{ANGLE if i else ""}'
        f'<a href="{href}" title="{name}" itemprop="item"><span itemprop="name">{name}</span></a>'
        f'<meta itemprop="position" content="{i + 1}" /></div>'
        for i, (name, href) in enumerate(crumbs)
    )
    return f"""<!DOCTYPE html>\r
<html xml:lang="{lang}" lang="{lang}">\r
<head>\r
{meta}<title>{title}</title>\r
<link href="/bitrix/js/main/core/css/core.min.css?15583523512854" type="text/css" rel="stylesheet" />\r
<link href="/bitrix/templates/sco/template_styles.css?15610122218411" type="text/css" data-template-style="true" rel="stylesheet" />\r
<script type="text/javascript">if(!window.BX)window.BX={{}};if(!window.BX.message)window.BX.message=function(mess){{if(typeof mess=='object') for(var i in mess) BX.message[i]=mess[i]; return true;}};</script>\r
<script type="text/javascript">(window.BX||top.BX).message({{'LANGUAGE_ID':'{lang}','FORMAT_DATE':'DD.MM.YYYY','FORMAT_DATETIME':'DD.MM.YYYY HH:MI:SS','COOKIE_PREFIX':'BITRIX_SM','SERVER_TZ_OFFSET':'18000','SITE_ID':'s1','SITE_DIR':'/'}});</script>\r
<script type="text/javascript" src="/bitrix/js/main/core/core.min.js?1558352351249634"></script>\r
</head>\r
<body>\r
<div id="panel"></div>\r
<div class="bx-wrapper" id="bx_eshop_wrap">\r
\t<header class="bx-header">\r
\t\t<div class="bx-logo"><a class="bx-logo-block" href="{pre}/"><img src="/include/logo.png" alt="{c["site"]}" /></a></div>\r
\t\t<div class="bx-searchtitle"><form action="{pre}/search/index.php"><input type="text" name="q" placeholder="{c["search"]}" /><button type="submit" name="s"></button></form></div>\r
\t</header>\r
\t<div class="bx-breadcrumb" itemprop="http://schema.org/breadcrumb" itemscope itemtype="http://schema.org/BreadcrumbList">\r
\t\t\t{crumb}\r
\t\t\t<div style="clear:both"></div></div>\r
\t<div class="bx-content-seection">\r
\t<div class="row">\r
\t\t<div class="bx-sidebar col-md-3">\r
\t\t<ul class="left-menu">\r
{menu}\r
\t\t</ul>\r
\t\t<div class="bx-subscribe"><div class="bx-block-title">{c["subscribe"]}</div>\r
\t\t<form action="{pre}/personal/subscribe/"><input type="email" name="sf_EMAIL" value="" placeholder="E-mail" /><input class="btn" type="submit" value="OK" /></form></div>\r
\t\t</div>\r
\t\t<div class="bx-content col-md-9">\r
{work}\r
\t\t</div>\r
\t</div>\r
\t</div>\r
\t<footer class="bx-footer">\r
\t\t<div class="bx-footer-line"><div class="bx-footer-copy">{c["copy"]}</div><div class="bx-footer-dev">{c["dev"]}</div></div>\r
\t</footer>\r
</div>\r
</body>\r
</html>\r
"""


def bx_article(
    text: Text, num: int, when_text: str, section_h1: bool, mode: str, declared: bool
) -> str:
    c = BX[text.lang]
    pre = "" if text.lang == "ru" else "/en"
    h1 = c["news"] if section_h1 else esc(text.title)
    name = f'\t\t<h3 class="news-detail__title">{esc(text.title)}</h3>\r\n' if section_h1 else ""
    paras = list(text.paras) + ([text.credit] if text.credit else [])
    if mode == "text":  # DETAIL_TEXT_TYPE = text: line breaks become <br />
        body = "<br />\r\n<br />\r\n".join(esc(p) for p in paras)
    else:
        out = [f"<p>{bold_lead(esc(paras[0]))}</p>"]
        out += [
            f"<p>{link_first(esc(p), 'SCO' if text.lang == 'en' else 'ШОС', pre + '/tags/sco/')}</p>"
            if i == 1
            else f"<p>{esc(p)}</p>"
            for i, p in enumerate(paras[1:], 1)
        ]
        body = "\r\n".join(out)
    others = "\r\n".join(
        f'\t<p class="news-item" id="bx_3218110189_{700 + i}"><span class="news-date-time">{d}</span>'
        f'&nbsp;&nbsp;<a href="{pre}/press-center/news/{4400 + i}/"><b>{h}</b></a><br /></p>'
        for i, (d, h) in enumerate(c["others"])
    )
    work = f"""\t\t<h1 id="pagetitle">{h1}</h1>\r
<div class="news-detail">\r
\t\t\t<img class="detail_picture" border="0" src="/upload/iblock/3f1/3f1c9a0e2b6d.jpg" width="600" height="400" alt="{esc(text.title)}" title="{esc(text.title)}" />\r
\t\t\t<span class="news-date-time">{when_text}</span>\r
{name}\t\t{body}\r
\t\t<div style="clear:both"></div>\r
\t<br />\r
\t<div class="news-detail-share"><noindex><div class="bx-share-social"><span class="bx-share-title">{c["share"]}:</span> <a class="bx-share-icon" href="#">VK</a> <a class="bx-share-icon" href="#">Telegram</a></div></noindex></div>\r
</div>\r
<p><a href="{pre}/press-center/news/">{c["back"]}</a></p>\r
<div class="other-news"><h2>{c["other"]}</h2>\r
<div class="news-list">\r
{others}\r
</div></div>"""
    crumbs = [
        (c["home"], f"{pre}/"),
        (c["press"], f"{pre}/press-center/"),
        (c["news"], f"{pre}/press-center/news/"),
    ]
    return bx_frame(text.lang, esc(text.title), crumbs, work, declared)


def bx_page(lang: str, heading: str, inner: str, declared: bool = True) -> str:
    c = BX[lang]
    pre = "" if lang == "ru" else "/en"
    work = f'\t\t<h1 id="pagetitle">{heading}</h1>\r\n{inner}'
    return bx_frame(lang, heading, [(c["home"], f"{pre}/")], work, declared)


def bitrix_news() -> tuple[dict[str, Any], list[Page]]:
    tz = ZoneInfo("Asia/Tashkent")
    absent_ru = [
        "Подписка на новости",
        "Делегация ШОС посетила Ханчжоу",
        "Поделиться",
        "Возврат к списку",
        "Все права защищены",
        "Главная",
    ]
    absent_en = [
        "Subscribe to our news",
        "SCO delegation visits Hangzhou",
        "Back to the list",
        "All rights reserved",
        "Telegram",
    ]
    specs: list[tuple[str, str, datetime, Callable[[datetime], str], bool, str, str]] = [
        (
            "press-center/news/4521.html",
            "ru-csto",
            datetime(2019, 10, 30, 18, 20, tzinfo=tz),
            fmt_ru,
            True,
            "p",
            "koi8_r",
        ),
        (
            "press-center/news/4533.html",
            "ru-rats",
            datetime(2019, 4, 4, 11, 15, tzinfo=tz),
            fmt_ru,
            True,
            "text",
            "cp1251",
        ),
        (
            "en/press-center/news/4522.html",
            "en-csto",
            datetime(2019, 10, 30, 18, 45, tzinfo=tz),
            fmt_en,
            False,
            "p",
            "utf-8",
        ),
        (
            "en/press-center/news/4534.html",
            "en-rats-council",
            datetime(2019, 4, 4, 11, 30, tzinfo=tz),
            fmt_en,
            False,
            "text",
            "utf-8",
        ),
        (
            "en/press-center/news/5102.html",
            "en-rats-source",
            datetime(2023, 2, 17, 16, 10, tzinfo=tz),
            fmt_en,
            False,
            "p",
            "utf-8",
        ),
    ]
    pages: list[Page] = []
    for path, key, when, fmt, section_h1, mode, enc in specs:
        text = load_text(key)
        num = int(path.rsplit("/", 1)[1].split(".")[0])
        declared = enc == "utf-8"
        pages.append(
            Page(
                path,
                BX_BASE + path.replace(".html", "/"),
                bx_article(text, num, fmt(when), section_h1, mode, declared),
                encoding=enc,
                content_type="text/html; charset=UTF-8" if declared else "text/html",
                text=text,
                when=when,
                absent=absent_ru if text.lang == "ru" else absent_en,
            )
        )
    items = "\r\n".join(
        f'\t<p class="news-item" id="bx_3218110189_{4521 - i}">\r\n'
        f'\t\t<a href="/press-center/news/{4521 - i}/"><img class="preview_picture" border="0" '
        f'src="/upload/iblock/p{i}.jpg" width="120" height="80" style="float:left" /></a>\r\n'
        f'\t\t<span class="news-date-time">{d}</span>\r\n'
        f'\t\t<a href="/press-center/news/{4521 - i}/"><b>{h}</b></a><br />\r\n'
        f'\t\t{t}\r\n\t\t<div style="clear:both"></div>\r\n\t</p>'
        for i, (d, h, t) in enumerate(
            [
                (
                    "30.10.2019",
                    "Делегация Секретариата ШОС приняла участие в конференции ОДКБ",
                    "В Москве обсудили взаимодействие организаций в борьбе с терроризмом.",
                ),
                (
                    "15.10.2019",
                    "В Пекине открылась выставка узбекского искусства",
                    "Более 120 работ мастеров представлены в Доме ШОС.",
                ),
                (
                    "04.04.2019",
                    "В Ташкенте состоялось заседание Совета РАТС ШОС",
                    "Совет утвердил план мероприятий на второе полугодие.",
                ),
                (
                    "14.03.2019",
                    "Генеральный секретарь ШОС принял Посла Пакистана",
                    "Стороны обсудили подготовку к саммиту в Бишкеке.",
                ),
            ]
        )
    )
    listing = (
        f'<div class="news-list">\r\n{items}\r\n<br /><div class="bx-pagination">'
        '<ul><li class="bx-active"><span>1</span></li><li><a href="?PAGEN_1=2">2</a></li>'
        '<li><a href="?PAGEN_1=3">3</a></li></ul></div>\r\n</div>'
    )
    pages += [
        Page(
            "press-center/news/index.html",
            BX_BASE + "press-center/news/",
            bx_page("ru", "Новости", listing),
            why="news listing with teasers",
        ),
        Page(
            "search/tags-odkb.html",
            BX_BASE + "search/?tags=%D0%9E%D0%94%D0%9A%D0%91",
            bx_page(
                "ru",
                "Поиск",
                '<div class="search-page"><p>Теги: <b>ОДКБ</b></p>'
                '<a href="/press-center/news/4521/">Делегация Секретариата ШОС приняла '
                "участие в международной конференции ОДКБ</a><br /><small>30.10.2019"
                "</small><p>Найдено: 1</p></div>",
            ),
            why="tag search result",
        ),
        Page(
            "contacts/index.html",
            BX_BASE + "contacts/",
            bx_page(
                "ru",
                "Контакты",
                "<p><b>Адрес:</b> 100000, г. Ташкент, ул. Буюк Ипак Йули, 1</p>"
                "\r\n<p><b>Телефон:</b> +998 71 123-45-67</p>\r\n<p><b>E-mail:</b> "
                "press@center.test</p>\r\n<p>Режим работы: пн–пт, 9:00–18:00</p>",
                False,
            ),
            encoding="cp1251",
            content_type="text/html",
            why="contact page",
        ),
        Page(
            "projects/index.html",
            BX_BASE + "projects/",
            bx_page("ru", "Проекты", "<p>Раздел находится в разработке.</p>"),
            why="stub",
        ),
        Page(
            "press-center/news/12.html",
            BX_BASE + "press-center/news/12/",
            bx_page(
                "en",
                "About the press centre",
                '<div class="news-detail">\r\n<p>The press centre of the SCO Information Centre '
                "informs journalists about the events of the organisation, accredits media "
                "representatives for conferences and summits and publishes press releases in "
                "Russian and English.</p>\r\n<p>Accreditation requests are accepted by e-mail no "
                "later than five working days before an event. Please attach a copy of your press "
                "card.</p>\r\n</div>",
            ),
            why="About page on the news detail URL shape, no dateline",
        ),
    ]
    return {"timezone": "Asia/Tashkent", "style": "generic", "base_url": BX_BASE}, pages


# ----------------------------------------------------------------------------- wordpress
WP_BASE = "http://wordpress.corpus.test/"
WP_RECENT = [
    (
        "strany-shos-obsudili-transportnye-koridory",
        "Страны ШОС обсудили развитие транспортных коридоров",
    ),
    ("sco-youth-council-meets-in-bishkek", "SCO Youth Council meets in Bishkek"),
    ("kyrgyz-tea-house-opens-in-osh", "Kyrgyz tea house opens in Osh"),
    ("bishkek-marathon-registration", "Bishkek marathon: registration is open"),
]


def wp_frame(lang: str, title: str, body_class: str, main: str, declared: bool = True) -> str:
    meta = '<meta charset="UTF-8">\n' if declared else ""
    recent = "\n".join(
        f'\t\t\t\t\t<li>\n\t\t\t\t\t<a href="{WP_BASE}{s}/">{t}</a>\n\t\t\t\t\t\t</li>'
        for s, t in WP_RECENT
    )
    return f"""<!doctype html>
<html lang="{"ru-RU" if lang == "ru" else "en-US"}">
<head>
	{meta}	<meta name="viewport" content="width=device-width, initial-scale=1">
	<link rel="profile" href="https://gmpg.org/xfn/11">
	<title>{title} &#8211; Steppe Chronicle</title>
<link rel='dns-prefetch' href='//fonts.googleapis.com' />
<link rel="alternate" type="application/rss+xml" title="Steppe Chronicle &raquo; Feed" href="{WP_BASE}feed/" />
<link rel='stylesheet' id='wp-block-library-css'  href='{WP_BASE}wp-includes/css/dist/block-library/style.min.css?ver=5.2.1' type='text/css' media='all' />
<link rel='stylesheet' id='steppe-style-css'  href='{WP_BASE}wp-content/themes/steppe/style.css?ver=5.2.1' type='text/css' media='all' />
<script type='text/javascript' src='{WP_BASE}wp-includes/js/jquery/jquery.js?ver=1.12.4-wp'></script>
<link rel='https://api.w.org/' href='{WP_BASE}wp-json/' />
<meta name="generator" content="WordPress 5.2.1" />
</head>

<body class="{body_class}">
<div id="page" class="site">
	<a class="skip-link screen-reader-text" href="#content">Skip to content</a>

	<header id="masthead" class="site-header">
		<div class="site-branding">
							<p class="site-title"><a href="{WP_BASE}" rel="home">Steppe Chronicle</a></p>
								<p class="site-description">News from Bishkek and the region</p>
					</div><!-- .site-branding -->

		<nav id="site-navigation" class="main-navigation">
			<button class="menu-toggle" aria-controls="primary-menu" aria-expanded="false">Primary Menu</button>
			<div class="menu-main-container"><ul id="primary-menu" class="menu"><li id="menu-item-12" class="menu-item"><a href="{WP_BASE}">Home</a></li>
<li id="menu-item-13" class="menu-item"><a href="{WP_BASE}category/news/">News</a></li>
<li id="menu-item-14" class="menu-item"><a href="{WP_BASE}about-us/">About us</a></li>
<li id="menu-item-15" class="menu-item"><a href="{WP_BASE}contact/">Contact</a></li>
</ul></div>		</nav><!-- #site-navigation -->
	</header><!-- #masthead -->

	<div id="content" class="site-content">

	<div id="primary" class="content-area">
		<main id="main" class="site-main">

{main}

		</main><!-- #main -->
	</div><!-- #primary -->


<aside id="secondary" class="widget-area">
	<section id="search-2" class="widget widget_search"><form role="search" method="get" class="search-form" action="{WP_BASE}">
				<label>
					<span class="screen-reader-text">Search for:</span>
					<input type="search" class="search-field" placeholder="Search &hellip;" value="" name="s" />
				</label>
				<input type="submit" class="search-submit" value="Search" />
			</form></section>		<section id="recent-posts-2" class="widget widget_recent_entries">		<h2 class="widget-title">Recent Posts</h2>		<ul>
{recent}
				</ul>
		</section><section id="recent-comments-2" class="widget widget_recent_comments"><h2 class="widget-title">Recent Comments</h2><ul id="recentcomments"><li class="recentcomments"><span class="comment-author-link">Aibek</span> on <a href="{WP_BASE}sco-youth-council-meets-in-bishkek/#comment-41">SCO Youth Council meets in Bishkek</a></li></ul></section><section id="archives-2" class="widget widget_archive"><h2 class="widget-title">Archives</h2>		<ul>
				<li><a href='{WP_BASE}2020/05/'>May 2020</a></li>
	<li><a href='{WP_BASE}2019/05/'>May 2019</a></li>
	<li><a href='{WP_BASE}2017/06/'>June 2017</a></li>
		</ul>
			</section><section id="meta-2" class="widget widget_meta"><h2 class="widget-title">Meta</h2>			<ul>
						<li><a href="{WP_BASE}wp-login.php">Log in</a></li>
			<li><a href="{WP_BASE}feed/">Entries <abbr title="Really Simple Syndication">RSS</abbr></a></li>
			<li><a href="https://wordpress.org/" title="Powered by WordPress, state-of-the-art semantic personal publishing platform.">WordPress.org</a></li>			</ul>
			</section></aside><!-- #secondary -->

	</div><!-- #content -->

	<footer id="colophon" class="site-footer">
		<div class="site-info">
			<a href="https://wordpress.org/">Proudly powered by WordPress</a>
				<span class="sep"> | </span>
				Theme: steppe by <a href="http://underscores.me/">Underscores.me</a>.		</div><!-- .site-info -->
	</footer><!-- #colophon -->
</div><!-- #page -->

<script type='text/javascript' src='{WP_BASE}wp-includes/js/wp-embed.min.js?ver=5.2.1'></script>

</body>
</html>
"""


def wp_article(
    text: Text,
    post_id: int,
    slug: str,
    posted: str,
    comments: list[tuple[str, str]],
    caption: str | None,
    declared: bool,
) -> str:
    ru = text.lang == "ru"
    paras = []
    for i, p in enumerate(text.paras):
        body = esc(p, "&nbsp;")
        if i == 0:
            body = bold_lead(body)
        if i == 1:
            body = link_first(body, "ШОС" if ru else "SCO", f"{WP_BASE}tag/sco/")
        paras.append(f"<p>{body}</p>")
    if caption:
        paras.insert(
            1,
            f'<figure class="wp-block-image"><img src="{WP_BASE}wp-content/uploads/'
            f'2019/05/{slug[:12]}-1024x683.jpg" alt="" class="wp-image-{post_id + 1}"/>'
            f"<figcaption>{caption}</figcaption></figure>",
        )
    if len(paras) > 4:
        paras.insert(4, "<p>&nbsp;</p>")
    share_title = "Поделиться:" if ru else "Share this:"
    related = "Похожее" if ru else "Related"
    comment_list = "\n".join(
        f'\t\t\t<li id="comment-{40 + i}" class="comment even thread-even depth-1">\n'
        f'\t\t\t<article id="div-comment-{40 + i}" class="comment-body">\n'
        f'\t\t\t\t<footer class="comment-meta"><div class="comment-author vcard"><b class="fn">{who}</b> '
        f'<span class="says">says:</span></div></footer>\n'
        f'\t\t\t\t<div class="comment-content"><p>{what}</p></div>\n'
        f"\t\t\t\t<div class=\"reply\"><a rel='nofollow' class='comment-reply-link' href='#comment-{40 + i}'>Reply</a></div>\n"
        f"\t\t\t</article><!-- .comment-body -->\n\t\t</li><!-- #comment-## -->"
        for i, (who, what) in enumerate(comments)
    )
    cats = "Рубрика" if ru else "Posted in"
    content = "\n\n".join(paras)
    main = f"""
<article id="post-{post_id}" class="post-{post_id} post type-post status-publish format-standard has-post-thumbnail hentry category-news tag-sco">
	<header class="entry-header">
		<h1 class="entry-title">{esc(text.title)}</h1>			<div class="entry-meta">
				{posted}<span class="byline"> by <span class="author vcard"><a class="url fn n" href="{WP_BASE}author/editor/">editor</a></span></span>			</div><!-- .entry-meta -->
			</header><!-- .entry-header -->

	<div class="entry-content">
		{content}
<div class="sharedaddy sd-sharing-enabled"><div class="robots-nocontent sd-block sd-social sd-social-icon-text sd-sharing"><h3 class="sd-title">{share_title}</h3><div class="sd-content"><ul><li class="share-twitter"><a rel="nofollow noopener noreferrer" class="share-twitter sd-button share-icon" href="{WP_BASE}{slug}/?share=twitter" target="_blank" title="Click to share on Twitter"><span>Twitter</span></a></li><li class="share-facebook"><a rel="nofollow noopener noreferrer" class="share-facebook sd-button share-icon" href="{WP_BASE}{slug}/?share=facebook" target="_blank" title="Click to share on Facebook"><span>Facebook</span></a></li><li class="share-end"></li></ul></div></div></div>
<div id='jp-relatedposts' class='jp-relatedposts' >
	<h3 class="jp-relatedposts-headline"><em>{related}</em></h3>
	<div class="jp-relatedposts-items jp-relatedposts-items-visual"><p class="jp-relatedposts-post"><a class="jp-relatedposts-post-a" href="{WP_BASE}kyrgyz-tea-house-opens-in-osh/">Kyrgyz tea house opens in Osh</a></p></div>
</div>	</div><!-- .entry-content -->

	<footer class="entry-footer">
		<span class="cat-links">{cats} <a href="{WP_BASE}category/news/" rel="category tag">News</a></span><span class="tags-links">Tagged <a href="{WP_BASE}tag/sco/" rel="tag">SCO</a></span>	</footer><!-- .entry-footer -->
</article><!-- #post-{post_id} -->

	<nav class="navigation post-navigation" role="navigation">
		<h2 class="screen-reader-text">Post navigation</h2>
		<div class="nav-links"><div class="nav-previous"><a href="{WP_BASE}kyrgyz-tea-house-opens-in-osh/" rel="prev">Kyrgyz tea house opens in Osh</a></div><div class="nav-next"><a href="{WP_BASE}bishkek-marathon-registration/" rel="next">Bishkek marathon: registration is open</a></div></div>
	</nav>
<div id="comments" class="comments-area">

			<h2 class="comments-title">
			{len(comments)} thoughts on &ldquo;<span>{esc(text.title)}</span>&rdquo;			</h2><!-- .comments-title -->

		<ol class="comment-list">
{comment_list}
		</ol><!-- .comment-list -->

		<div id="respond" class="comment-respond">
		<h3 id="reply-title" class="comment-reply-title">Leave a Reply</h3>			<form action="{WP_BASE}wp-comments-post.php" method="post" id="commentform" class="comment-form" novalidate><p class="comment-notes"><span id="email-notes">Your email address will not be published.</span> Required fields are marked <span class="required">*</span></p><p class="comment-form-comment"><label for="comment">Comment</label> <textarea id="comment" name="comment" cols="45" rows="8" maxlength="65525" required="required"></textarea></p><p class="form-submit"><input name="submit" type="submit" id="submit" class="submit" value="Post Comment" /> <input type='hidden' name='comment_post_ID' value='{post_id}' id='comment_post_ID' /></p></form>	</div><!-- #respond -->

</div><!-- #comments -->
"""
    body_class = (
        f"post-template-default single single-post postid-{post_id} "
        "single-format-standard wp-embed-responsive"
    )
    return wp_frame(text.lang, esc(text.title), body_class, main, declared)


def wp_time(when: datetime, shown: str) -> str:
    return (
        f'<span class="posted-on">Posted on <a href="#" rel="bookmark"><time class="entry-date '
        f'published" datetime="{when.isoformat()}">{shown}</time></a></span>'
    )


def wordpress() -> tuple[dict[str, Any], list[Page]]:
    tz = ZoneInfo("Asia/Bishkek")
    guterres = datetime(2017, 6, 9, 21, 30, tzinfo=fixed(5))  # explicit offset beats the site's
    youth = datetime(2019, 5, 11, 15, 40, tzinfo=tz)
    ru_youth = datetime(2019, 5, 11, 16, 5, tzinfo=tz)
    railway = datetime(2020, 5, 18, 14, 5, tzinfo=fixed(3))
    comments_en = [
        ("Aibek", "Great news for our region! When will the start-up school open registration?"),
        ("Nurlan", "Thank you for the report, waiting for photos from the summit."),
    ]
    comments_ru = [("Айбек", "Отличная новость! Когда откроется регистрация в школу стартапов?")]
    absent_en = [
        "start-up school open registration",
        "Recent Posts",
        "Share this",
        "Kyrgyz tea house opens in Osh",
        "Leave a Reply",
        "Proudly powered by WordPress",
    ]
    absent_ru = [
        "Когда откроется регистрация",
        "Recent Posts",
        "Поделиться",
        "Kyrgyz tea house opens in Osh",
        "Leave a Reply",
    ]
    specs: list[tuple[str, str, int, datetime, str, str | None, str]] = [
        (
            "rashid-alimov-un-and-sco",
            "en-guterres",
            1187,
            guterres,
            wp_time(guterres, fmt_us(guterres)),
            "Rashid Alimov and Antonio Guterres in Astana. Photo: SCO Secretariat",
            "utf-8",
        ),
        (
            "sco-youth-council-meets-in-bishkek",
            "en-youth",
            1342,
            youth,
            f'<span class="posted-on">{fmt_us(youth)}</span>',
            None,
            "utf-8",
        ),
        (
            "v-bishkeke-proshlo-zasedanie-molodezhnogo-soveta",
            "ru-youth",
            1343,
            ru_youth,
            f'<span class="posted-on"><span class="entry-date">{fmt_ru(ru_youth)}</span></span>',
            None,
            "cp1251",
        ),
        (
            "strany-shos-obsudili-transportnye-koridory",
            "ru-railway",
            1590,
            railway,
            wp_time(railway, f"{railway.day} мая {railway.year} в {railway:%H:%M}"),
            "Грузовой терминал в Ташкенте. Фото: пресс-служба",
            "utf-8",
        ),
    ]
    pages: list[Page] = []
    for slug, key, post_id, when, posted, caption, enc in specs:
        text = load_text(key)
        ru = text.lang == "ru"
        pages.append(
            Page(
                f"{slug}/index.html",
                f"{WP_BASE}{slug}/",
                wp_article(
                    text,
                    post_id,
                    slug,
                    posted,
                    comments_ru if ru else comments_en,
                    caption,
                    enc == "utf-8",
                ),
                encoding=enc,
                content_type="text/html; charset=UTF-8" if enc == "utf-8" else "text/html",
                text=text,
                when=when,
                absent=(absent_ru if ru else absent_en)
                + ([caption.split(".")[0]] if caption else []),
            )
        )

    def archive(title: str, cls: str, posts: list[tuple[str, str, str]]) -> str:
        arts = "\n".join(
            f'<article class="post type-post status-publish hentry">\n\t<header class="entry-header">'
            f'<h2 class="entry-title"><a href="{WP_BASE}{slug}/" rel="bookmark">{t}</a></h2>'
            f'<div class="entry-meta"><span class="posted-on">{d}</span></div></header>\n'
            f'\t<div class="entry-summary"><p>{s} <a class="more-link" href="{WP_BASE}{slug}/">'
            "Continue reading</a></p></div>\n</article>"
            for slug, t, (d, s) in [
                (a, b, (c, "The first lines of the post&hellip;")) for a, b, c in posts
            ]
        )
        main = (
            f'<header class="page-header"><h1 class="page-title">{title}</h1></header>\n{arts}\n'
            '<nav class="navigation posts-navigation"><div class="nav-links"><div class='
            f'"nav-previous"><a href="{WP_BASE}category/news/page/2/">Older posts</a></div>'
            "</div></nav>"
        )
        return wp_frame("en", title, cls, main)

    posts = [
        (
            "sco-youth-council-meets-in-bishkek",
            "SCO Youth Council meets in Bishkek",
            "May 11, 2019 at 3:40 pm",
        ),
        (
            "rashid-alimov-un-and-sco",
            "Rashid Alimov: the UN and SCO are bound by the unity of goals",
            "June 9, 2017 at 9:30 pm",
        ),
        (
            "kyrgyz-tea-house-opens-in-osh",
            "Kyrgyz tea house opens in Osh",
            "May 2, 2019 at 10:15 am",
        ),
    ]

    def wp_page(slug: str, title: str, content: str) -> str:
        main = (
            f'<article id="post-{len(slug)}" class="page type-page status-publish hentry">\n'
            f'\t<header class="entry-header"><h1 class="entry-title">{title}</h1></header>\n'
            f'\t<div class="entry-content">\n{content}\n\t</div>\n</article>'
        )
        return wp_frame("en", title, f"page-template-default page page-{slug}", main)

    pages += [
        Page(
            "category/news/index.html",
            WP_BASE + "category/news/",
            archive("Category: News", "archive category category-news", posts),
            why="category archive",
        ),
        Page(
            "tag/pakistan/index.html",
            WP_BASE + "tag/pakistan/",
            archive("Tag: Pakistan", "archive tag tag-pakistan", posts[1:2]),
            why="tag archive",
        ),
        Page(
            "contact/index.html",
            WP_BASE + "contact/",
            wp_page(
                "contact",
                "Contact",
                "<p>Write to us: editor@steppe.test</p>\n<p>Phone: +996 312 "
                '00 00 00</p>\n<div class="wpcf7"><form><p>Your Name (required)<br /><input '
                'type="text" name="your-name" /></p><p>Your Message<br /><textarea name="'
                'your-message"></textarea></p><p><input type="submit" value="Send" /></p>'
                "</form></div>",
            ),
            why="contact page",
        ),
        Page(
            "events/index.html",
            WP_BASE + "events/",
            wp_page("events", "Events", "<p>Coming soon!</p>"),
            why="stub",
        ),
        Page(
            "about-us/index.html",
            WP_BASE + "about-us/",
            wp_page(
                "about-us",
                "About us",
                "<p>Steppe Chronicle is an independent news site founded in Bishkek in 2016 by a "
                "group of journalists. We write about Kyrgyzstan, Central Asia and the Shanghai "
                "Cooperation Organisation, about politics, the economy and the daily life of people "
                "in the region.</p>\n<p>We do not take money from political parties. If you like "
                "our work, tell your friends about us.</p>",
            ),
            why="About page on the post URL shape (/slug/), no dateline",
        ),
    ]
    return {"timezone": "Asia/Bishkek", "style": "generic", "base_url": WP_BASE}, pages


# ----------------------------------------------------------------------------- amp
AMP_BASE = "http://amp.corpus.test/"
AMP_UI = {
    "en": (
        "Eurasia Wire",
        "Read more",
        ["Home", "Politics", "Economy", "Security", "Culture"],
        "View non-AMP version",
        "By Eurasia Wire staff",
    ),
    "ru": (
        "Евразия Ньюс",
        "Читайте также",
        ["Главная", "Политика", "Экономика", "Безопасность", "Культура"],
        "Полная версия",
        "Редакция",
    ),
    "zh": (
        "欧亚新闻网",
        "延伸阅读",
        ["首页", "政治", "经济", "安全", "文化"],
        "查看完整版",
        "本网记者",
    ),
}
AMP_MORE = {
    "en": ["Kazakhstan hosts SCO energy ministers", "China and Russia sign a gas deal"],
    "ru": [
        "В Астане прошло совещание министров энергетики ШОС",
        "Китай и Россия подписали газовое соглашение",
    ],
    "zh": ["上合组织能源部长会议在阿斯塔纳举行", "中俄签署天然气合作协议"],
}


def amp_frame(lang: str, title: str, canonical: str, ld: str, main: str, declared: bool) -> str:
    site, more, menu, full, _ = AMP_UI[lang]
    meta = '<meta charset="utf-8">\n' if declared else ""
    nav = "".join(f'<li><a href="/{lang}/">{m}</a></li>' for m in menu)
    return f"""<!doctype html>
<html ⚡ lang="{lang}">
<head>
{meta}<script async src="https://cdn.ampproject.org/v0.js"></script>
<script async custom-element="amp-sidebar" src="https://cdn.ampproject.org/v0/amp-sidebar-0.1.js"></script>
<script async custom-element="amp-social-share" src="https://cdn.ampproject.org/v0/amp-social-share-0.1.js"></script>
<script async custom-element="amp-analytics" src="https://cdn.ampproject.org/v0/amp-analytics-0.1.js"></script>
<title>{title} | {site}</title>
<link rel="canonical" href="{canonical}">
<meta name="viewport" content="width=device-width,minimum-scale=1,initial-scale=1">
{ld}<style amp-boilerplate>body{{-webkit-animation:-amp-start 8s steps(1,end) 0s 1 normal both;-moz-animation:-amp-start 8s steps(1,end) 0s 1 normal both;animation:-amp-start 8s steps(1,end) 0s 1 normal both}}@keyframes -amp-start{{from{{visibility:hidden}}to{{visibility:visible}}}}</style><noscript><style amp-boilerplate>body{{-webkit-animation:none;-moz-animation:none;animation:none}}</style></noscript>
<style amp-custom>body{{font-family:Georgia,serif}}.amp-header{{background:#0b3d63;color:#fff}}.amp-title{{font-size:26px}}.amp-meta{{color:#777;font-size:13px}}</style>
</head>
<body>
<amp-sidebar id="sidebar" layout="nodisplay" side="left"><nav class="amp-menu"><ul>{nav}</ul></nav></amp-sidebar>
<header class="amp-header"><button class="amp-burger" on="tap:sidebar.toggle" aria-label="menu">&#9776;</button> <a class="amp-logo" href="/{lang}/">{site}</a></header>
<main>
{main}
<section class="amp-related"><h2>{more}</h2><ul>{"".join(f'<li><a href="/{lang}/news/{90000 + i}.amp.html">{h}</a></li>' for i, h in enumerate(AMP_MORE[lang]))}</ul></section>
</main>
<footer class="amp-footer">&copy; 2019 {site} &middot; <a href="{canonical}">{full}</a></footer>
<amp-analytics type="googleanalytics"><script type="application/json">{{"vars": {{"account": "UA-000000-1"}}, "triggers": {{"trackPageview": {{"on": "visible", "request": "pageview"}}}}}}</script></amp-analytics>
</body>
</html>
"""


def amp_article(
    text: Text, url: str, when: datetime, shown: str, caption: str | None, declared: bool
) -> str:
    _, _, _, _, byline = AMP_UI[text.lang]
    ld = json.dumps(
        {
            "@context": "https://schema.org",
            "@type": "NewsArticle",
            "mainEntityOfPage": {"@type": "WebPage", "@id": url.replace(".amp", "")},
            "headline": text.title,
            "image": [f"{AMP_BASE}img/lead-{when:%Y%m%d}.jpg"],
            "datePublished": when.isoformat(),
            "dateModified": when.isoformat(),
            "author": {"@type": "Organization", "name": AMP_UI[text.lang][0]},
            "publisher": {
                "@type": "Organization",
                "name": AMP_UI[text.lang][0],
                "logo": {"@type": "ImageObject", "url": f"{AMP_BASE}img/logo.png"},
            },
        },
        ensure_ascii=False,
        indent=1,
    )
    fig = (
        (
            f'<figure class="amp-figure"><amp-img src="{AMP_BASE}img/lead-{when:%Y%m%d}.jpg" '
            'width="1200" height="675" layout="responsive" alt=""></amp-img>'
            f"<figcaption>{caption}</figcaption></figure>\n"
        )
        if caption
        else (
            f'<amp-img src="{AMP_BASE}img/lead-{when:%Y%m%d}.jpg" width="1200" height="675" '
            'layout="responsive" alt=""></amp-img>\n'
        )
    )
    body = "\n".join(f"<p>{esc(p)}</p>" for p in text.paras)
    main = f"""<article class="amp-article">
<div class="amp-category">{AMP_UI[text.lang][2][1]}</div>
<h1 class="amp-title">{esc(text.title)}</h1>
<div class="amp-meta"><span class="amp-byline">{byline}</span> &middot; <span class="amp-date">{shown}</span></div>
{fig}<div class="amp-body">
{body}
</div>
<div class="amp-share"><amp-social-share type="twitter" width="40" height="40"></amp-social-share><amp-social-share type="facebook" width="40" height="40" data-param-app_id="000"></amp-social-share></div>
</article>"""
    return amp_frame(
        text.lang,
        esc(text.title),
        url.replace(".amp", ""),
        f'<script type="application/ld+json">{ld}</script>\n',
        main,
        declared,
    )


def amp_site() -> tuple[dict[str, Any], list[Page]]:
    specs: list[tuple[str, str, datetime, str, str | None, str]] = [
        (
            "en/news/118204.amp.html",
            "en-unsco",
            datetime(2018, 11, 28, 10, 15, tzinfo=fixed(3)),
            "November 28, 2018",
            "The second UN-SCO special event in New York",
            "utf-8",
        ),
        (
            "en/news/120377.amp.html",
            "en-cfm",
            datetime(2019, 5, 22, 19, 40, tzinfo=fixed(6)),
            "May 22, 2019",
            None,
            "utf-8",
        ),
        (
            "ru/news/121950.amp.html",
            "ru-exhibition",
            datetime(2019, 10, 15, 17, 30, tzinfo=fixed(8)),
            "15 октября 2019",
            "Сюзане ручной работы на выставке в Пекине",
            "cp1251",
        ),
        (
            "zh/news/119866.amp.html",
            "zh-pakistan",
            datetime(2019, 3, 14, 16, 30, tzinfo=fixed(8)),
            "2019年03月14日 16:30",
            None,
            "utf-8",
        ),
    ]
    pages: list[Page] = []
    for path, key, when, shown, caption, enc in specs:
        text = load_text(key)
        url = AMP_BASE + path
        absent = [AMP_MORE[text.lang][0], AMP_UI[text.lang][0]] + ([caption] if caption else [])
        pages.append(
            Page(
                path,
                url,
                amp_article(text, url, when, shown, caption, enc == "utf-8"),
                encoding=enc,
                content_type="text/html"
                if enc != "utf-8" or "zh" in path
                else "text/html; charset=utf-8",
                text=text,
                when=when,
                absent=absent,
            )
        )

    def plain_page(lang: str, path: str, title: str, inner: str, why: str) -> Page:
        url = AMP_BASE + path
        main = (
            f'<article class="amp-page">\n<h1 class="amp-title">{title}</h1>\n{inner}\n</article>'
        )
        return Page(
            path, url, amp_frame(lang, title, url.replace(".amp", ""), "", main, True), why=why
        )

    items = "\n".join(
        f'<li class="amp-list-item"><a href="/en/news/{n}.amp.html">{t}</a> '
        f'<span class="amp-date">{d}</span></li>'
        for n, t, d in [
            (
                120377,
                "Press release on the meeting of the SCO Council of Foreign Ministers",
                "May 22, 2019",
            ),
            (119866, "SCO Secretary-General receives Ambassador of Pakistan", "March 14, 2019"),
            (
                118204,
                "UN-SCO Cooperation Aimed at Strengthening Peace, Security and Stability",
                "November 28, 2018",
            ),
        ]
    )
    pages += [
        plain_page(
            "en", "en/news/index.amp.html", "Latest news", f"<ul>{items}</ul>", "headline listing"
        ),
        plain_page(
            "en",
            "en/tag/pakistan.amp.html",
            "Pakistan",
            f"<ul>{items.splitlines()[1]}</ul>",
            "tag page",
        ),
        plain_page(
            "en",
            "en/contact.amp.html",
            "Contact the newsroom",
            "<p>Email: desk@eurasia-wire.test</p><p>Telegram: @eurasiawire</p>",
            "contact page",
        ),
        plain_page(
            "en", "en/live.amp.html", "Live", "<p>Live coverage will start soon.</p>", "stub"
        ),
        plain_page(
            "en",
            "en/news/100001.amp.html",
            "About Eurasia Wire",
            "<p>Eurasia Wire is a news service covering the member states of the Shanghai "
            "Cooperation Organisation and their neighbours. Our correspondents work in "
            "Beijing, Moscow, Almaty and Tashkent.</p><p>This is the mobile version of "
            "our site. Stories are also available in Russian and Chinese.</p>",
            "About page on the article URL shape, no dateline",
        ),
    ]
    return {"timezone": "Asia/Shanghai", "style": "generic", "base_url": AMP_BASE}, pages


# ----------------------------------------------------------------------------- print
PR_BASE = "http://print.corpus.test/"
PR_UI = {
    "en": (
        "Print this page",
        "Close window",
        "Article URL",
        "SCO Info Portal",
        "Reprinting is allowed with a hyperlink to the source.",
    ),
    "ru": (
        "Распечатать",
        "Закрыть окно",
        "Адрес статьи",
        "ИнфоШОС",
        "Перепечатка разрешена при наличии гиперссылки на источник.",
    ),
}


def print_page(lang: str, title: str, dateline: str, body: str, url: str, declared: bool) -> str:
    printit, close, addr, site, reprint = PR_UI[lang]
    meta = (
        '<meta http-equiv="Content-Type" content="text/html; charset=utf-8">\n' if declared else ""
    )
    return f"""<html>
<head>
{meta}<title>{site}: {title}</title>
<meta name="robots" content="noindex, nofollow">
<style type="text/css">
body {{ font-family: "Times New Roman", serif; font-size: 12pt; margin: 20px; }}
@media print {{ .noprint {{ display: none; }} }}
</style>
</head>
<body onload="window.print()">
<div class="noprint" align="right"><a href="javascript:window.print()">{printit}</a> | <a href="javascript:window.close()">{close}</a></div>
<img src="/img/logo_print.gif" alt="{site}" width="180" height="40"><br>
<hr size="1" noshade>
<h2>{title}</h2>
{dateline}
{body}
<hr size="1" noshade>
<small>{addr}: {url}<br>
&copy; {site}, 2007-2019. {reprint}</small>
</body>
</html>
"""


def print_site() -> tuple[dict[str, Any], list[Page]]:
    tz = ZoneInfo("Europe/Moscow")
    specs: list[tuple[int, str, datetime, bool, str]] = [
        (15810, "en-exhibition", datetime(2019, 10, 15, 16, 20, tzinfo=tz), True, "p"),
        (15825, "en-csto", datetime(2019, 10, 31, 10, 5, tzinfo=tz), True, "br"),
        (34801, "ru-cfm", datetime(2019, 5, 22, 19, 55, tzinfo=tz), False, "br"),
        (34822, "ru-csto", datetime(2019, 10, 30, 18, 30, tzinfo=tz), False, "p"),
    ]
    pages: list[Page] = []
    for num, key, when, declared, mode in specs:
        text = load_text(key)
        lang = text.lang
        article_url = f"{PR_BASE}{lang}/?idn={num}"
        if mode == "br":
            body = "<br><br>\n".join(esc(p, "&nbsp;") for p in text.paras) + "<br>"
        else:
            body = "\n".join(f"<p>{esc(p)}</p>" for p in text.paras)
        dateline = (
            f"<i>{fmt_en(when)}</i><br><br>" if lang == "en" else f"<p><i>{fmt_dots(when)}</i></p>"
        )
        path = f"print/{num}.html"
        pages.append(
            Page(
                path,
                f"{PR_BASE}print.php?id={num}",
                print_page(lang, esc(text.title), dateline, body, article_url, declared),
                encoding="utf-8" if declared else "cp1251",
                content_type="text/html",
                text=text,
                when=when,
                absent=list(PR_UI[lang][:3]) + [PR_UI[lang][4]],
            )
        )

    def other(num: str, lang: str, title: str, body: str, why: str, declared: bool = True) -> Page:
        url = f"{PR_BASE}print.php?{num}"
        return Page(
            f"print/{num.replace('=', '-')}.html",
            url,
            print_page(lang, title, "", body, url, declared),
            encoding="utf-8" if declared else "cp1251",
            content_type="text/html",
            why=why,
        )

    listing = "\n".join(
        f"<p><b>{d}</b> {t}</p>"
        for d, t in [
            (
                "31.10.2019 10:05",
                "SCO Secretariat delegation takes part in CSTO international conference",
            ),
            ("15.10.2019 16:20", "SCO Secretariat opens an exhibition of Uzbek applied art"),
            (
                "22.05.2019 19:55",
                "Press release on the meeting of the SCO Council of Foreign Ministers",
            ),
        ]
    )
    pages += [
        other("section=news", "en", "News", listing, "print version of the news listing"),
        other("tag=culture", "en", "Tag: culture", listing.splitlines()[1], "print of a tag page"),
        other(
            "page=contacts",
            "ru",
            "Контакты",
            "<p>Москва, ул. Пречистенка, д. 12<br>"
            "Тел.: +7 (495) 123-45-67<br>E-mail: info@portal.test</p>",
            "contact page",
            declared=False,
        ),
        other(
            "id=0",
            "ru",
            "Ошибка",
            "<p>Версия для печати недоступна.</p>",
            "stub: no printable version",
        ),
        other(
            "id=2",
            "en",
            "About the portal",
            "<p>The SCO Info Portal publishes news of the Shanghai Cooperation Organisation "
            "and its member states in Russian and English. It was founded in 2007 and is "
            "edited in Moscow.</p><p>All materials may be reprinted with a hyperlink to the "
            "portal. Letters to the editors are welcome at any time.</p>",
            "About page on the print URL shape, no dateline",
        ),
    ]
    return {"timezone": "Europe/Moscow", "style": "generic", "base_url": PR_BASE}, pages


# ----------------------------------------------------------------------------- redesign
RD_BASE = "http://redesign.corpus.test/"
RD_UI: dict[str, dict[str, Any]] = {
    "ru": {
        "site": "ИнфоШОС",
        "nav": ["Новости", "Аналитика", "Документы", "Фото", "О портале"],
        "cities": [
            ("Пекин", "19:05"),
            ("Нью-Дели", "16:35"),
            ("Исламабад", "16:05"),
            ("Москва", "14:05"),
        ],
        "rates": "Курсы валют ШОС",
        "feed": "Лента новостей",
        "also": "Читайте также",
        "members": "Государства-члены ШОС",
        "share": "Поделиться:",
        "grant": "Сайт создан при финансовой поддержке Федерального агентства по печати и "
        "массовым коммуникациям Российской Федерации",
        "states": [
            "Индия",
            "Казахстан",
            "Китай",
            "Кыргызстан",
            "Пакистан",
            "Россия",
            "Таджикистан",
            "Узбекистан",
        ],
        "news": [
            ("18.05.2020 13:40", "Казахстан и Китай открыли новый железнодорожный пункт пропуска"),
            ("18.05.2020 11:02", "В Душанбе обсудили водную безопасность"),
            ("17.05.2020 19:15", "Эксперты ШОС провели онлайн-семинар по цифровой экономике"),
        ],
    },
    "en": {
        "site": "InfoSCO",
        "nav": ["News", "Analytics", "Documents", "Photo", "About"],
        "cities": [
            ("Beijing", "19:05"),
            ("New Delhi", "16:35"),
            ("Islamabad", "16:05"),
            ("Moscow", "14:05"),
        ],
        "rates": "SCO currency rates",
        "feed": "News feed",
        "also": "Read also",
        "members": "SCO member states",
        "share": "Share:",
        "grant": "The website has been created with the financial assistance of the Federal "
        "Agency for Press and Mass Communications of the Russian Federation",
        "states": [
            "India",
            "Kazakhstan",
            "China",
            "Kyrgyzstan",
            "Pakistan",
            "Russia",
            "Tajikistan",
            "Uzbekistan",
        ],
        "news": [
            ("18.05.2020 13:40", "Kazakhstan and China open a new rail border crossing"),
            ("18.05.2020 11:02", "Dushanbe discusses water security"),
            ("17.05.2020 19:15", "SCO experts hold an online seminar on the digital economy"),
        ],
    },
}


def rd_frame(lang: str, title: str, content: str, declared: bool) -> str:
    c = RD_UI[lang]
    meta = '  <meta charset="utf-8">\n' if declared else ""
    nav = "\n".join(
        f'        <a class="nav__link{" nav__link_active" if i == 0 else ""}" href="/{lang}/'
        f'{["news", "analytics", "docs", "photo", "about"][i]}/">{n}</a>'
        for i, n in enumerate(c["nav"])
    )
    ticker = "\n".join(
        f'      <div class="ticker__item"><span class="ticker__city">{city}</span>'
        f'<span class="ticker__time">{t}</span></div>'
        for city, t in c["cities"]
    )
    rates = "\n".join(
        f'        <dt class="rates__code">{code}</dt><dd class="rates__value">{v}</dd>'
        for code, v in [("CNY", "10,7245"), ("INR", "96,4410"), ("KZT", "17,6302")]
    )
    feed = "\n".join(
        f'          <li class="news-feed__item"><time class="news-feed__time">{d}</time>'
        f'<a class="news-feed__link" href="/{lang}/?idn={34890 - i}">{h}</a></li>'
        for i, (d, h) in enumerate(c["news"])
    )
    states = "".join(f'<li class="members__item">{s}</li>' for s in c["states"])
    return f"""<!DOCTYPE html>
<html lang="{lang}" class="no-js">
<head>
{meta}  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title} — {c["site"]}</title>
  <link rel="stylesheet" href="/static/build/main.3f9a1c.css">
  <script src="/static/build/main.3f9a1c.js" defer></script>
</head>
<body class="page page_type_news">
  <header class="header">
    <div class="header__inner container">
      <a class="header__logo logo" href="/{lang}/">{c["site"]}</a>
      <nav class="header__nav nav">
{nav}
      </nav>
      <div class="header__lang lang-switch"><a class="lang-switch__item" href="/ru/">RU</a><a class="lang-switch__item" href="/en/">EN</a></div>
    </div>
    <div class="ticker">
{ticker}
    </div>
    <div class="rates">
      <div class="rates__title">{c["rates"]}</div>
      <dl class="rates__list">
{rates}
      </dl>
    </div>
  </header>
  <div class="page__body container">
    <main class="page__content">
{content}
    </main>
    <aside class="page__sidebar sidebar">
      <section class="sidebar__block news-feed">
        <h2 class="news-feed__title">{c["feed"]}</h2>
        <ul class="news-feed__list">
{feed}
        </ul>
      </section>
      <section class="sidebar__block members">
        <h3 class="members__title">{c["members"]}</h3>
        <ul class="members__list">{states}</ul>
      </section>
    </aside>
  </div>
  <footer class="footer">
    <div class="footer__inner container">
      <p class="footer__grant">{c["grant"]}</p>
      <p class="footer__copy">© 2007–2020 {c["site"]}</p>
    </div>
  </footer>
</body>
</html>
"""


def rd_article(
    text: Text, datetime_attr: str, shown: str, caption: str | None, declared: bool
) -> str:
    c = RD_UI[text.lang]
    body = "\n".join(f"          <p>{esc(p, '&nbsp;')}</p>" for p in text.paras)
    fig = (
        (
            f'        <figure class="news-card__image"><img class="news-card__img" '
            f'src="/upload/2020/05/lead.jpg" alt="" loading="lazy"><figcaption '
            f'class="news-card__caption">{caption}</figcaption></figure>\n'
        )
        if caption
        else ""
    )
    also = "\n".join(
        f'          <li class="related__item"><a class="related__link" href="/{text.lang}/?idn='
        f'{34880 + i}">{h}</a><span class="related__date">{d[:10]}</span></li>'
        for i, (d, h) in enumerate(c["news"][1:])
    )
    content = f"""      <nav class="breadcrumbs"><a class="breadcrumbs__link" href="/{text.lang}/">{c["site"]}</a><span class="breadcrumbs__sep">/</span><a class="breadcrumbs__link" href="/{text.lang}/news/">{c["nav"][0]}</a></nav>
      <article class="news-card news-card_full">
        <header class="news-card__header">
          <h1 class="news-card__title">{esc(text.title)}</h1>
          <div class="news-card__meta"><time class="news-card__date" datetime="{datetime_attr}">{shown}</time><span class="news-card__views" title="views">1 245</span></div>
        </header>
{fig}        <div class="news-card__body rich-text">
{body}
        </div>
        <div class="news-card__tags"><a class="tag" href="/{text.lang}/tags/sco/">#SCO</a></div>
        <div class="share"><span class="share__title">{c["share"]}</span><a class="share__link share__link_vk" href="#">VK</a><a class="share__link share__link_tg" href="#">Telegram</a></div>
      </article>
      <section class="related">
        <h2 class="related__title">{c["also"]}</h2>
        <ul class="related__list">
{also}
        </ul>
      </section>"""
    return rd_frame(text.lang, esc(text.title), content, declared)


def redesign() -> tuple[dict[str, Any], list[Page]]:
    tz = ZoneInfo("Europe/Moscow")
    railway = datetime(2020, 5, 18, 14, 5, tzinfo=tz)
    rats = datetime(2019, 4, 4, 12, 40, tzinfo=tz)
    youth = datetime(2019, 5, 11, 13, 10, tzinfo=fixed(6))
    unsco = datetime(2018, 11, 28, 10, 15, tzinfo=tz)
    specs: list[tuple[str, str, datetime, str, str | None, bool]] = [
        (
            "ru/idn-34901.html",
            "ru-railway",
            railway,
            f"{railway:%Y-%m-%dT%H:%M}",
            "Контейнерный терминал. Фото: пресс-служба",
            True,
        ),
        ("ru/idn-34655.html", "ru-rats", rats, f"{rats:%Y-%m-%dT%H:%M}", None, False),
        ("en/idn-24571.html", "en-youth", youth, youth.isoformat(), None, True),
        ("en/idn-24012.html", "en-unsco", unsco, f"{unsco:%Y-%m-%d %H:%M}", None, True),
    ]
    pages: list[Page] = []
    for path, key, when, attr, caption, declared in specs:
        text = load_text(key)
        c = RD_UI[text.lang]
        lang, idn = path.split("/")[0], path.split("-")[1].split(".")[0]
        pages.append(
            Page(
                path,
                f"{RD_BASE}{lang}/?idn={idn}",
                rd_article(text, attr, f"{when:%d.%m.%Y, %H:%M}", caption, declared),
                encoding="utf-8" if declared else "cp1251",
                content_type="text/html; charset=utf-8" if declared else "text/html",
                text=text,
                when=when,
                absent=[
                    c["cities"][0][0],
                    "10,7245",
                    c["news"][0][1],
                    c["grant"][:40],
                    c["feed"],
                    c["share"],
                ]
                + ([caption] if caption else []),
            )
        )

    def simple(
        path: str, url: str, lang: str, title: str, inner: str, why: str, declared: bool = True
    ) -> Page:
        content = (
            f'      <section class="section">\n        <h1 class="section__title">{title}'
            f"</h1>\n{inner}\n      </section>"
        )
        return Page(
            path,
            RD_BASE + url,
            rd_frame(lang, title, content, declared),
            encoding="utf-8" if declared else "cp1251",
            content_type="text/html; charset=utf-8" if declared else "text/html",
            why=why,
        )

    cards = "\n".join(
        f'        <article class="news-card news-card_preview"><a class="news-card__link" '
        f'href="/ru/?idn={n}"><h2 class="news-card__title">{t}</h2></a><time class="news-card__'
        f'date" datetime="{d}">{d}</time><p class="news-card__lead">{lead}</p></article>'
        for n, t, d, lead in [
            (
                34901,
                "Страны ШОС обсудили развитие транспортных коридоров в Ташкенте",
                "2020-05-18T14:05",
                "Министры транспорта провели видеоконференцию.",
            ),
            (
                34890,
                "Казахстан и Китай открыли новый железнодорожный пункт пропуска",
                "2020-05-18T13:40",
                "Пункт пропуска рассчитан на 20 поездов в сутки.",
            ),
            (
                34655,
                "В Ташкенте состоялось очередное заседание Совета РАТС ШОС",
                "2019-04-04T12:40",
                "Совет утвердил план на второе полугодие.",
            ),
        ]
    )
    pages += [
        simple(
            "ru/news.html",
            "ru/news/",
            "ru",
            "Новости",
            cards
            + '\n        <a class="pager__next" href="/ru/news/?page=2">Следующая страница</a>',
            "listing of news cards",
        ),
        simple(
            "ru/tags-transport.html",
            "ru/tags/transport/",
            "ru",
            "#Транспорт",
            cards.splitlines()[0],
            "tag page",
        ),
        simple(
            "ru/contacts.html",
            "ru/contacts/",
            "ru",
            "Контакты",
            '        <address class="contacts">Москва, ул. Пречистенка, 12<br>'
            "+7 495 123-45-67<br>info@infosco.test</address>",
            "contact page",
            declared=False,
        ),
        simple(
            "ru/announce.html",
            "ru/?idn=2",
            "ru",
            "Объявление",
            '        <p class="notice">9 мая 2020 года сайт не обновляется. С праздником!</p>',
            "one-line announcement on the article URL shape",
        ),
        simple(
            "en/idn-3.html",
            "en/?idn=3",
            "en",
            "About InfoSCO",
            '        <div class="rich-text"><p>InfoSCO is an information portal about the '
            "Shanghai Cooperation Organisation, published since 2007. After the 2020 redesign "
            "the portal works on phones and tablets and has a new news feed.</p><p>We "
            "publish official news of the SCO bodies, interviews, analytics and photo "
            "reports in Russian and English.</p></div>",
            "About page on the article URL shape, no dateline",
        ),
    ]
    return {"timezone": "Europe/Moscow", "style": "infoshos", "base_url": RD_BASE}, pages


SITES: dict[str, Callable[[], tuple[dict[str, Any], list[Page]]]] = {
    "table-portal": table_portal,
    "bitrix-news": bitrix_news,
    "wordpress": wordpress,
    "amp": amp_site,
    "print": print_site,
    "redesign": redesign,
}


def main() -> None:
    for name, build in SITES.items():
        site, pages = build()
        root = HERE / name
        root.mkdir(exist_ok=True)
        for old in root.rglob("*.html"):
            old.unlink()
        (root / "site.json").write_text(json.dumps(site, indent=1) + "\n", encoding="utf-8")
        truth = {}
        for page in pages:
            target = root / page.path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(page.body())
            truth[page.path] = page.truth()
        (root / "truth.json").write_text(
            json.dumps(truth, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        articles = sum(1 for p in pages if p.text)
        print(f"{name}: {len(pages)} pages, {articles} articles")


if __name__ == "__main__":
    main()
