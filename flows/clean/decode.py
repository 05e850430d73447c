"""Decode fetched page bytes to text.

Order: byte order mark, HTTP ``Content-Type`` charset, ``<meta>`` charset in the first 4 KB,
the source's fallback, then detection (strict UTF-8, else the Cyrillic code page --
windows-1251 or KOI8-R -- whose reading gives the most well-formed Russian words, when there
are several, else windows-1252). A declared charset that cannot decode the bytes is skipped.
Pure function: no I/O.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["DecodeError", "decode_body", "normalize_encoding"]


class DecodeError(ValueError):
    """The bytes are not text in any sensible encoding (one-line message)."""


_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: same first two bytes
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_META_RE = re.compile(rb"<meta\b[^>]*?charset\s*=\s*[\"']?\s*([A-Za-z0-9._:-]+)", re.IGNORECASE)
_HEADER_CHARSET_RE = re.compile(r"""charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE)
# Labels Python does not know or that browsers read differently (WHATWG encoding standard).
_ALIASES = {
    "x-cp1251": "windows-1251",
    "win-1251": "windows-1251",
    "win1251": "windows-1251",
    "x-cp1252": "windows-1252",
    "iso-8859-1": "windows-1252",
    "iso8859-1": "windows-1252",
    "latin-1": "windows-1252",
    "latin1": "windows-1252",
    "l1": "windows-1252",
    "us-ascii": "windows-1252",
    "ascii": "windows-1252",
    "x-mac-cyrillic": "mac-cyrillic",
    "unicode": "utf-16-le",
    "utf-16": "utf-16-le",  # BOM-less UTF-16 declared in a header: browsers read LE
}
_WIDE = ("utf-16", "utf-32")
_CONTROL = frozenset(set(range(0x20)) - {0x09, 0x0A, 0x0C, 0x0D} | {0x7F})
_CONTROL_BYTES = bytes(sorted(_CONTROL))  # (deleted by bytes.translate: counted in C)
_CYRILLIC_WORD_RE = re.compile(r"[А-Яа-яЁё]{2,}")
_MIXED_WORD_RE = re.compile(r"[A-Za-z]+[А-Яа-яЁё]|[А-Яа-яЁё]+[A-Za-z]")


def normalize_encoding(name: str | None) -> str | None:
    """Canonical encoding name (``cp1251`` -> ``windows-1251``, ``utf8`` -> ``utf-8``).

    ISO-8859-1 and US-ASCII map to windows-1252 as browsers do. None for unknown labels."""
    if not name:
        return None
    label = name.strip().strip("\"'").lower()
    if label in _ALIASES:
        return _ALIASES[label]
    try:
        py = codecs.lookup(label).name
    except LookupError:
        return None
    if py in _ALIASES:
        return _ALIASES[py]
    if py.startswith("cp125"):
        return "windows-" + py[2:]
    if py.startswith("iso8859-"):
        return "iso-8859-" + py[len("iso8859-") :]
    if py == "utf-16":
        return "utf-16-le"
    return py.replace("_", "-")


def _text(value: object) -> str:
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("latin-1")
    if isinstance(value, list | tuple):  # multi-valued header maps (Scrapy)
        return ", ".join(_text(v) for v in value)
    return str(value)


def _header(headers: object, key: str) -> str | None:
    """A header by case-insensitive name; also takes bytes names/values, value lists and
    the list of (name, value) pairs pyarrow gives for a map column."""
    if isinstance(headers, Mapping):
        pairs: Iterable[Any] = headers.items()
    elif isinstance(headers, Iterable):
        pairs = headers
    else:
        return None
    for pair in pairs:
        if isinstance(pair, tuple | list) and len(pair) == 2 and _text(pair[0]).lower() == key:
            return _text(pair[1])
    return None


def _declared(body: bytes, headers: Mapping[str, str], fallback: str | None) -> list[str]:
    found: list[str] = []
    content_type = _header(headers, "content-type")
    if content_type:
        match = _HEADER_CHARSET_RE.search(content_type)
        if match:
            found.append(match.group(1))
    meta = _META_RE.search(body[:4096])
    if meta:
        found.append(meta.group(1).decode("ascii"))
    if fallback:
        found.append(fallback)
    names: list[str] = []
    for label in found:
        name = normalize_encoding(label)
        if name is not None and name not in names:
            names.append(name)
    return names


def _looks_binary(body: bytes) -> bool:
    sample = body[:8192]
    if not sample:
        return False
    nul = sample.count(0)
    control = len(sample) - len(sample.translate(None, _CONTROL_BYTES))
    return nul > len(sample) // 100 or control > len(sample) // 20


def _strict(body: bytes, encoding: str) -> str | None:
    try:
        return body.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        pass
    if encoding == "utf-8":
        return _utf8_truncated(body)
    return None


def _utf8_truncated(body: bytes) -> str | None:
    """UTF-8 whose only fault is a multi-byte character cut at the very end (truncated page)."""
    for cut in (1, 2, 3):
        if len(body) <= cut:
            break
        try:
            return body[:-cut].decode("utf-8") + "\ufffd"
        except UnicodeDecodeError:
            continue
    return None


def _is_single_byte(encoding: str) -> bool:
    return encoding.startswith(("windows-", "iso-8859-", "koi8", "cp", "mac-"))


def _detect(body: bytes) -> tuple[str, str]:
    text = _strict(body, "utf-8")
    if text is not None:
        return text, "utf-8"
    text = _mostly_utf8(body)
    if text is not None:
        return text, "utf-8"
    as_1252 = _strict(body, "windows-1252")
    cyrillic = _best_cyrillic(body)
    if cyrillic is not None and (as_1252 is None or _cyrillic(cyrillic[0])):
        return cyrillic
    if as_1252 is not None:
        return as_1252, "windows-1252"
    return body.decode("latin-1"), "iso-8859-1"  # every byte is a character


def _mostly_utf8(body: bytes) -> str | None:
    """UTF-8 with a few stray bytes: many well-formed multi-byte characters, few faults."""
    text = body.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    good = sum(1 for ch in text if ch > "\x7f") - bad
    return text if bad <= 8 and good >= 3 * bad else None


#: The legacy Cyrillic code pages a page may be in without saying so.
CYRILLIC_CODEPAGES = ("windows-1251", "koi8-r")
#: Fewer Cyrillic words than this is no evidence for a Cyrillic code page (a stray byte in an
#: English page must not turn it into Cyrillic).
MIN_CYRILLIC_WORDS = 3
# A Cyrillic word as Russian writes it: lower case, or one capital then lower case. The same
# bytes read in the wrong Cyrillic code page come out with the case inverted ("оПЧПУФЙ").
_CASED_WORD_RE = re.compile(r"(?<![А-Яа-яЁё])[А-ЯЁ]?[а-яё]{2,}(?![А-Яа-яЁё])")


def _best_cyrillic(body: bytes) -> tuple[str, str] | None:
    """The Cyrillic code page whose reading gives the most well-formed Russian words."""
    best: tuple[int, str, str] | None = None
    for encoding in CYRILLIC_CODEPAGES:
        text = _strict(body, encoding)
        if text is None:
            continue
        score = len(_CASED_WORD_RE.findall(text))
        if best is None or score > best[0]:
            best = (score, text, encoding)
    if best is None or best[0] < MIN_CYRILLIC_WORDS:
        return None
    return best[1], best[2]


def _cyrillic(text: str) -> bool:
    """Does the text read as Cyrillic words rather than Latin words with accents?

    Latin-1 accents decoded as windows-1251 give isolated Cyrillic letters inside Latin words
    (``cafй``); real Russian gives whole Cyrillic words."""
    words = len(_CYRILLIC_WORD_RE.findall(text))
    mixed = len(_MIXED_WORD_RE.findall(text))
    return words >= MIN_CYRILLIC_WORDS and words >= 2 * mixed


def decode_body(
    body: bytes, headers: Mapping[str, str], fallback: str | None = None
) -> tuple[str, str]:
    """Decode a fetched body; returns (text, normalised encoding name used).

    Raises :class:`DecodeError` for binary content (NUL/control bytes)."""
    if not body:
        return "", normalize_encoding(fallback) or "utf-8"
    for bom, name in _BOMS:
        if body.startswith(bom):
            try:
                return body[len(bom) :].decode(name), name
            except UnicodeDecodeError:
                break  # a BOM followed by garbage: treat as undeclared
    declared = _declared(body, headers, fallback)
    wide = [name for name in declared if name.startswith(_WIDE)]
    for name in wide:
        text = _strict(body, name)
        if text is not None and "\x00" not in text:
            return text, name
    if _looks_binary(body):
        raise DecodeError(f"binary content, not text ({len(body)} bytes)")
    for name in declared:
        if name.startswith(_WIDE):
            continue
        text = _strict(body, name)
        if text is None:
            continue
        if _is_single_byte(name) and not body.isascii():
            # A server default (charset=windows-1251) over a page that is really UTF-8:
            # valid multi-byte UTF-8 is practically never what single-byte text looks like.
            utf8 = _strict(body, "utf-8")
            if utf8 is not None and not utf8.endswith("\ufffd"):
                return utf8, "utf-8"
        return text, name
    return _detect(body)
