"""Tests of infoshos.flows.clean.language and infoshos.flows.clean.words."""

from __future__ import annotations

import pytest

from infoshos.flows.clean import language
from infoshos.flows.clean.language import detect_language
from infoshos.flows.clean.words import shingles, tokenize_words, word_count

EN = "SCO Secretary-General Rashid Alimov met with the UN Secretary-General in New York."
RU = "Генеральный секретарь ШОС Рашид Алимов встретился с Генеральным секретарём ООН."
ZH = "上海合作组织秘书长会见联合国秘书长，双方讨论了反恐合作。"


@pytest.mark.parametrize(("text", "expected"), [(EN, "en"), (RU, "ru"), (ZH, "zh")])
def test_detect_by_script(text: str, expected: str) -> None:
    assert detect_language(text) == expected


@pytest.mark.parametrize(
    "text", ["", "   ", "Hi", "ШОС", "2019-12-11 13:58", "!!! ... ???", "上海"]
)
def test_short_or_empty_is_und(text: str) -> None:
    assert detect_language(text) == "und"


def test_mixed_text_goes_to_lingua(monkeypatch: pytest.MonkeyPatch) -> None:
    mostly_ru = (
        "Генеральный секретарь ШОС встретился с представителями CSTO и CICA в Москве, "
        "обсуждались вопросы сотрудничества в рамках SCO RATS."
    )
    mostly_en = (
        "The SCO Secretary-General met the head of ОДКБ and spoke about cooperation with the "
        "CSTO; «Шанхайская организация сотрудничества» was mentioned."
    )
    assert detect_language(mostly_ru) == "ru"
    assert detect_language(mostly_en) == "en"

    calls: list[str] = []

    class Fake:
        def detect_language_of(self, text: str) -> None:
            calls.append(text)
            return None

    monkeypatch.setattr(language, "_detector", lambda: Fake())
    assert detect_language(mostly_ru) == "und"  # lingua undecided
    assert detect_language(EN) == "und"  # a Latin script alone never makes English
    assert detect_language(RU) == "und"  # nor a Cyrillic one Russian
    assert calls == [mostly_ru, EN, RU]
    assert detect_language(ZH) == "zh"  # Han characters without kana or hangul: Chinese
    assert detect_language(KK) == "kk"  # the alphabet's own letters: lingua not asked
    assert calls == [mostly_ru, EN, RU]


# Pages of a generic site in the region's and Europe's languages (news about the SCO).
FR = (
    "Le secrétaire général de l'Organisation de coopération de Shanghai a rencontré mardi à "
    "Pékin les représentants des États membres. Les participants ont discuté du renforcement de "
    "la coopération régionale dans les domaines de la sécurité, de l'économie et de la culture, "
    "ainsi que de la préparation du prochain sommet."
)
DE = (
    "Der Generalsekretär der Schanghaier Organisation für Zusammenarbeit traf sich am Dienstag "
    "in Peking mit Vertretern der Mitgliedstaaten. Die Teilnehmer erörterten die Stärkung der "
    "regionalen Zusammenarbeit in den Bereichen Sicherheit, Wirtschaft und Kultur sowie die "
    "Vorbereitung des nächsten Gipfeltreffens."
)
KK = (
    "Шанхай ынтымақтастық ұйымының Бас хатшысы сейсенбі күні Бейжіңде мүше мемлекеттердің "
    "өкілдерімен кездесті. Қатысушылар қауіпсіздік, экономика және мәдениет салаларындағы "
    "өңірлік ынтымақтастықты нығайту мәселелерін, сондай-ақ алдағы саммитке дайындықты "
    "талқылады."
)
UZ = (
    "Шанхай ҳамкорлик ташкилоти Бош котиби сешанба куни Пекинда аъзо давлатлар вакиллари "
    "билан учрашди. Иштирокчилар хавфсизлик, иқтисодиёт ва маданият соҳаларида минтақавий "
    "ҳамкорликни мустаҳкамлаш ҳамда навбатдаги саммитга тайёргарлик масалаларини муҳокама "
    "қилдилар. Учрашувда ўзаро савдо ҳажмини ошириш бўйича таклифлар кўриб чиқилди."
)
UZ_LATIN = (
    "Shanxay hamkorlik tashkiloti Bosh kotibi seshanba kuni Pekinda aʼzo davlatlar vakillari "
    "bilan uchrashdi. Uchrashuvda oʻzaro savdo hajmini oshirish boʻyicha takliflar koʻrib "
    "chiqildi, shuningdek, mintaqaviy hamkorlikni mustahkamlash masalalari muhokama qilindi."
)
TG = (
    "Дабири кулли Созмони ҳамкории Шанхай рӯзи сешанбе дар Пекин бо намояндагони давлатҳои "
    "узв вохӯрд. Иштирокчиён масъалаҳои тақвияти ҳамкории минтақавӣ дар соҳаҳои амният, "
    "иқтисод ва фарҳанг, инчунин омодагӣ ба нишасти навбатиро муҳокима карданд. Ҷумҳурии "
    "Тоҷикистон ҷонибдори густариши ҳамкориҳо мебошад."
)
KY = (
    "Шанхай кызматташтык уюмунун Башкы катчысы шейшемби күнү Бээжинде мүчө мамлекеттердин "
    "өкүлдөрү менен жолукту. Катышуучулар коопсуздук, экономика жана маданият "
    "тармактарындагы аймактык кызматташтыкты чыңдоо маселелерин талкуулашты."
)
MN = (
    "Шанхайн хамтын ажиллагааны байгууллагын Ерөнхий нарийн бичгийн дарга мягмар гарагт "
    "Бээжинд гишүүн орнуудын төлөөлөгчидтэй уулзав. Оролцогчид аюулгүй байдал, эдийн засаг, "
    "соёлын салбарт бүс нутгийн хамтын ажиллагааг бэхжүүлэх асуудлыг хэлэлцэв."
)
# Korean is written in hangul alone, Japanese in kana with Han: neither is too short for want
# of Han characters, and neither is Chinese.
KO = (
    "상하이협력기구 사무총장은 화요일 베이징에서 회원국 대표들과 만나 안보, 경제, 문화 분야의 "
    "지역 협력 강화와 다음 정상회의 준비 문제를 논의했다."
)
JA = (
    "上海協力機構の事務局長は火曜日に北京で加盟国の代表と会談し、安全保障、経済、文化の分野に"
    "おける地域協力の強化と次回の首脳会議の準備について話し合った。"
)
RU_WITH_KAZAKH_NAME = (
    "Генеральный секретарь ШОС встретился во вторник в Пекине с представителями "
    "государств-членов; в зале висел флаг с надписью «Қазақстан Республикасы». Участники "
    "обсудили укрепление регионального сотрудничества в сферах безопасности и экономики."
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (FR, "fr"),
        (DE, "de"),
        (KK, "kk"),
        (UZ, "uz"),
        (TG, "tg"),
        (KY, "ky"),
        (MN, "mn"),
        (UZ_LATIN, "uz"),
        (RU_WITH_KAZAKH_NAME, "ru"),
        (KO, "ko"),
        (JA, "ja"),
    ],
)
def test_every_language_named(text: str, expected: str) -> None:
    assert detect_language(text) == expected
    assert detect_language(text * 30) == expected  # a long article: the same answer


def test_undecidable_text_is_und() -> None:
    names = "Astana Tashkent Dushanbe Bishkek Beijing Moscow Islamabad New Delhi"
    assert detect_language(names) == "und"


def test_a_declared_edition_keeps_its_language() -> None:
    # an edition's page keeps the language of its edition...
    assert detect_language(EN, hint="en") == "en"
    assert detect_language(RU, hint="ru") == "ru"
    assert detect_language(ZH, hint="zh") == "zh"
    assert detect_language(KK, hint="ru") == "ru"  # the Russian edition's page stays ru
    # ...unless its text is in a script that language is never written in
    assert detect_language(RU, hint="en") == "ru"
    assert detect_language(FR, hint="zh") == "fr"
    assert detect_language(KO, hint="zh") == "ko"  # kana or hangul: not the Chinese edition's
    assert detect_language(JA, hint="zh") == "ja"
    # too short stays und whatever the hint
    assert detect_language("ШОС", hint="ru") == "und"


def test_portal_pages_keep_the_edition_and_generic_pages_are_detected() -> None:
    from infoshos.flows.clean.articles import clean_page

    body = "<html><head><title>Sommet</title></head><body><article><h1>Sommet de l'OCS</h1>"
    body += "<p>Publié le 12 mars 2024</p>" + "".join(f"<p>{FR}</p>" for _ in range(4))
    body += "</article></body></html>"
    page = {
        "page_id": "p1",
        "url": "https://news.example.org/fr/2024/03/12/sommet.html",
        "source": "web",
        "page_type": "article",
        "status": 200,
        "headers": {"content-type": "text/html; charset=utf-8"},
        "body": body.encode("utf-8"),
        "language_hint": "en",  # e.g. a wrong Content-Language: generic pages ignore it
    }
    result = clean_page(page, "generic")
    assert result.article is not None, result.reject
    assert result.article["language"] == "fr"


def test_tokenize_en_ru() -> None:
    assert tokenize_words("It's the SCO's 2019 summit — in Astana.", "en") == [
        "It",
        "s",
        "the",
        "SCO",
        "s",
        "2019",
        "summit",
        "in",
        "Astana",
    ]
    assert tokenize_words("Встреча в Москве, 2019 год.", "ru") == [
        "Встреча",
        "в",
        "Москве",
        "2019",
        "год",
    ]
    assert tokenize_words("", "en") == []


def test_tokenize_zh_words_only() -> None:
    tokens = tokenize_words(ZH, "zh")
    assert "秘书长" in tokens and "联合国" in tokens
    assert "，" not in tokens and "。" not in tokens
    assert all(t.strip() == t and t for t in tokens)
    assert "".join(tokens) == ZH.replace("，", "").replace("。", "")


def test_word_count() -> None:
    assert word_count(EN, "en") == 14
    assert word_count(RU, "ru") == 10
    assert word_count(ZH, "zh") == len(tokenize_words(ZH, "zh")) > 5
    assert word_count("", "zh") == 0


def test_shingles() -> None:
    assert shingles("A b C d e f", "en", k=3) == ["a b c", "b c d", "c d e", "d e f"]
    assert len(shingles(EN, "en")) == word_count(EN, "en") - 4
    assert shingles("one two", "en") == ["one two"]
    assert shingles("", "en") == []
    zh = shingles(ZH, "zh", k=2)
    assert zh[0] == "上海 合作"
    with pytest.raises(ValueError):
        shingles(EN, "en", k=0)


def test_shingles_casefold_same_text() -> None:
    assert shingles("SCO Summit IN Astana today", "en") == shingles(
        "sco summit in astana today", "en"
    )
    assert shingles("SCO Summit in Astana today", "en") != shingles(
        "SCO Summit in Almaty today", "en"
    )
