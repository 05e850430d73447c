"""Tests for infoshos.flows.clean.decode."""

from __future__ import annotations

import codecs
import html

import pytest

from infoshos.flows.clean.decode import DecodeError, decode_body, normalize_encoding

RU_TEXT = (
    "<p>Совет\xa0министров иностранных дел государств — членов Шанхайской организации "
    "сотрудничества провёл заседание в Пекине. Ёлки ёжики.</p>"
)
META_EQUIV = '<meta http-equiv="Content-Type" content="text/html; charset=windows-1251">'


def ru_page(meta: str = "") -> str:
    head = f"<!DOCTYPE html><html><head>{meta}<title>Новости</title></head>"
    return f"{head}<body>{RU_TEXT}</body></html>"


def test_cp1251_declared_in_header_only() -> None:
    page = ru_page()
    text, enc = decode_body(
        page.encode("cp1251"), {"Content-Type": "text/html; charset=windows-1251"}
    )
    assert (text, enc) == (page, "windows-1251")
    assert "\xa0" in text  # cp1251 0xA0 is U+00A0 and is kept


def test_cp1251_declared_in_meta_only() -> None:
    page = ru_page(META_EQUIV)
    text, enc = decode_body(page.encode("cp1251"), {"content-type": "text/html"})
    assert (text, enc) == (page, "windows-1251")


def test_meta_charset_short_form_and_alias() -> None:
    page = ru_page('<meta charset="cp1251">')
    assert decode_body(page.encode("cp1251"), {}) == (page, "windows-1251")


def test_cp1251_declared_nowhere_is_detected() -> None:
    page = ru_page()
    assert decode_body(page.encode("cp1251"), {}) == (page, "windows-1251")


def test_header_wins_over_meta() -> None:
    page = "<html><head><meta charset='windows-1252'></head><body>Привет, мир</body></html>"
    text, enc = decode_body(page.encode("koi8-r"), {"Content-Type": "text/html; charset=KOI8-R"})
    assert (text, enc) == (page, "koi8-r")


def test_wrong_utf8_header_falls_back() -> None:
    page = ru_page(META_EQUIV)
    text, enc = decode_body(page.encode("cp1251"), {"Content-Type": "text/html; charset=utf-8"})
    assert (text, enc) == (page, "windows-1251")
    page = ru_page()  # nothing else declared: detection
    text, enc = decode_body(page.encode("cp1251"), {"Content-Type": "text/html; charset=utf-8"})
    assert (text, enc) == (page, "windows-1251")


def test_fallback_is_used_after_declarations() -> None:
    body = "<p>Grüße – café</p>".encode("cp1252")
    assert decode_body(body, {}, fallback="cp1252") == ("<p>Grüße – café</p>", "windows-1252")
    # a declared charset beats the fallback
    body = "<p>Привет</p>".encode("koi8-r")
    got = decode_body(body, {"Content-Type": "text/html; charset=koi8-r"}, fallback="cp1251")
    assert got == ("<p>Привет</p>", "koi8-r")


def test_english_cp1251_page_keeps_raw_a0() -> None:
    page = "<html><body><p>Meeting of\xa0the Council in\xa0Astana</p></body></html>"
    text, enc = decode_body(
        page.encode("cp1251"), {"Content-Type": "text/html; charset=windows-1251"}
    )
    assert text == page and enc == "windows-1251"
    # undeclared: both single-byte guesses give the same text for 0xA0
    text, _ = decode_body(page.encode("cp1251"), {})
    assert text == page


def test_utf8_detected_and_bom() -> None:
    page = "<p>Шанхайская организация — 上海合作组织</p>"
    assert decode_body(page.encode("utf-8"), {}) == (page, "utf-8")
    assert decode_body(
        codecs.BOM_UTF8 + page.encode(), {"Content-Type": "text/html; charset=cp1251"}
    ) == (
        page,
        "utf-8",
    )
    assert decode_body(codecs.BOM_UTF16_LE + page.encode("utf-16-le"), {}) == (page, "utf-16-le")


def test_latin_text_detected_as_windows_1252() -> None:
    page = "<p>Le café était très réputé à Genève, où l'été dure longtemps.</p>"
    assert decode_body(page.encode("cp1252"), {}) == (page, "windows-1252")


def test_utf8_cut_mid_character() -> None:
    body = "<p>Привет мир</p><p>Шанхай".encode()[:-1]
    text, enc = decode_body(body, {"Content-Type": "text/html; charset=utf-8"})
    assert enc == "utf-8"
    assert text.startswith("<p>Привет мир</p><p>Шанха") and text.endswith("\ufffd")


def test_single_byte_header_over_real_utf8() -> None:
    # a server default charset over a UTF-8 page: the UTF-8 bytes win
    page = "<p>Совет министров иностранных дел</p>"
    assert decode_body(page.encode(), {"Content-Type": "text/html; charset=windows-1251"}) == (
        page,
        "utf-8",
    )


def test_header_lookup_is_case_insensitive_and_accepts_bytes() -> None:
    page = ru_page()
    headers = {"CONTENT-TYPE": 'text/html;charset="Windows-1251"'}
    assert decode_body(page.encode("cp1251"), headers)[1] == "windows-1251"


@pytest.mark.parametrize(
    "body",
    [
        bytes(range(256)) * 20,
        b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" * 50,
        b"%PDF-1.4\n" + bytes([0, 1, 2, 3, 4, 5, 6, 7]) * 100,
    ],
)
def test_binary_raises(body: bytes) -> None:
    with pytest.raises(DecodeError) as err:
        decode_body(body, {"Content-Type": "text/html; charset=utf-8"})
    assert "\n" not in str(err.value)
    assert isinstance(err.value, ValueError)


def test_empty_body() -> None:
    assert decode_body(b"", {}) == ("", "utf-8")


@pytest.mark.parametrize(
    ("label", "name"),
    [
        ("cp1251", "windows-1251"),
        ("Windows-1251", "windows-1251"),
        ("x-cp1251", "windows-1251"),
        ("utf8", "utf-8"),
        ("UTF-8", "utf-8"),
        ("latin1", "windows-1252"),
        ("iso-8859-5", "iso-8859-5"),
        ("koi8-r", "koi8-r"),
        ("no-such-charset", None),
        ("", None),
    ],
)
def test_normalize_encoding(label: str, name: str | None) -> None:
    assert normalize_encoding(label) == name


def test_sample_site_pages_decode() -> None:
    """Every rendered sample page decodes to text holding its title, as the server serves it."""
    sample = pytest.importorskip("infoshos.spiders.sample_site")
    from infoshos.spiders.sample_site import model, server

    assert model.DATA_FILE.exists(), "the sample site's articles.yaml is missing"
    data = server.SiteData()
    seen = 0
    for article in sample.load_articles():
        if article.broken in ("missing_404", "truncated"):
            continue
        page = server.resolve(data, article.local_path, "http://127.0.0.1:1")
        assert page.status == 200, article.key
        text, enc = decode_body(page.body, {"Content-Type": page.content_type})
        expected = "windows-1251" if article.portal == "infoshos" else "utf-8"
        assert enc == expected, (article.key, article.encoding_variant)
        assert article.title in html.unescape(text), article.key
        seen += 1
    assert seen > 0


# -- issue 13, finding 8: a guess needs evidence ---------------------------------------------
ASCII_PAGE = (
    "<!DOCTYPE html><html><head><title>Summit news</title></head><body>"
    "<p>The ministers met in Beijing on Tuesday to discuss regional security.</p>{}"
    "<p>They agreed to meet again next year.</p></body></html>"
)


@pytest.mark.parametrize(
    "stray",
    [
        b"\xff\xfe\xc3(",  # what the issue saw decoded as "\u044f\u044e\u0413("
        b"\xe4\xe0",  # one short "word" in windows-1251
        b"\xc0\xc1\xc2 \xe0\xe1",  # a few letters, no well-formed words
        b"\xd0\xd2\xc9\xd7\xc5\xd4",  # one word in KOI8-R
    ],
)
def test_stray_bytes_in_an_ascii_page_are_not_read_as_cyrillic(stray: bytes) -> None:
    body = ASCII_PAGE.encode().replace(b"{}", b"<p>x " + stray + b" y</p>")
    text, encoding = decode_body(body, {"content-type": "text/html"})
    assert encoding not in ("windows-1251", "koi8-r"), (encoding, text)
    assert not any("\u0400" <= ch <= "\u04ff" for ch in text), text
    assert "The ministers met in Beijing" in text


def test_a_page_with_several_russian_words_is_still_detected() -> None:
    page = ASCII_PAGE.replace("{}", RU_TEXT)
    assert decode_body(page.encode("cp1251"), {}) == (page, "windows-1251")
