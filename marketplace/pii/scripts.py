"""Personal data written in scripts other than Latin and Chinese (Django-free).

The engine's word lists, its NER and its name shapes read Latin script; `chinese` reads Han. A Korean, Japanese,
Russian, Arabic or Thai table went through all of them untouched, and its verification, which reads Latin too,
called it clean. This module holds what the engine knows of other scripts:

- which script a text is written in (`main_script`), so the verification can say where it read nothing
  (`UNREAD_SCRIPTS`);
- headers in languages whose words are not separated by spaces (Korean, Japanese, Thai): searched inside the
  header, as Chinese ones are (`HEADER_HINTS`);
- Korean names (a surname syllable and a one- to three-syllable given name, as Chinese names are found) and
  Japanese names (a family name and a given name of kanji or kana, separated by a space, as Japanese forms write
  them), in columns;
- names in Korean, Japanese, Cyrillic and Greek notes, found by their cues and shapes (`text_spans`).

The surname lists are the most frequent surnames of Statistics Korea's 2015 census and of Japanese surname
rankings, written here by hand; no test or benchmark draws its names from them.
"""

from __future__ import annotations

import functools
import re
import unicodedata

# The first word of a character's Unicode name -> its script ("CJK UNIFIED IDEOGRAPH-4E00" is Han).
_SCRIPT_NAMES = {
    "CJK": "Han",
    "IDEOGRAPHIC": "Han",
    "HIRAGANA": "Kana",
    "KATAKANA": "Kana",
    "KATAKANA-HIRAGANA": "Kana",
    "HALFWIDTH": "Kana",  # halfwidth katakana; halfwidth Hangul is rare
    "HANGUL": "Hangul",
    "FULLWIDTH": "Latin",
}
# Scripts whose names some rule of the engine reads: Latin (word lists, NER, name shapes), Han (`chinese`), the
# cased scripts (capitalised name shapes), Hangul and Kana (here). Letters of any other script are text no rule
# reads: names in it stay, and the verification says so.
READ_SCRIPTS = frozenset({"Latin", "Han", "Cyrillic", "Greek", "Hangul", "Kana"})


@functools.lru_cache(maxsize=4096)
def script_of(char: str) -> str | None:
    """The script of a letter or combining mark ("Devanagari" for a vowel sign too); None for anything else."""
    if not (char.isalpha() or unicodedata.category(char).startswith("M")):
        return None
    first = unicodedata.name(char, "").split(" ", 1)[0]
    return _SCRIPT_NAMES.get(first, first.title()) if first else None


# Kana (Japanese writes some in every sentence), and every character of the scripts written without spaces between
# words: Han, kana, Hangul.
KANA_RE = re.compile(r"[\u3040-\u30ff]")
CJK_RE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")


def main_script(text: str) -> str | None:
    """The script most of the letters of `text` are written in; None when it has no letters."""
    counts: dict[str, int] = {}
    for char in text:
        if (script := script_of(char)) is not None:
            counts[script] = counts.get(script, 0) + 1
    return max(counts, key=counts.__getitem__) if counts else None


# Characters of the read scripts, digits, punctuation and symbols: a text of only these needs no closer look (most
# texts; the per-character look costs a Python loop).
_ONLY_READ_RE = re.compile(
    r"[\x00-\u024f\u0300-\u052f\u1e00-\u1fff\u2000-\u2bff\u3000-\u30ff\u3130-\u318f\u3400-\u9fff"
    r"\uac00-\ud7af\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef]*"
)


def _latin_letters(upper: bool) -> str:
    """A regex character class body of the Latin letters of one case, accents included: Latin-1, Extended-A and -B
    and Extended Additional (Vietnamese "Ầ", "ẫ"). Those blocks mix the cases, so a range such as "Ā-ſ" holds
    "ł" and "đ" as well as "Ł" and "Đ"."""
    basic = "A-ZÀ-ÖØ-Þ" if upper else "a-zà-öø-ÿ"
    blocks = [*range(0x100, 0x250), *range(0x1E00, 0x1F00)]
    return basic + "".join(chr(c) for c in blocks if (chr(c).isupper() if upper else chr(c).islower()))


LATIN_UPPER, LATIN_LOWER = _latin_letters(True), _latin_letters(False)


def unread_script(text: str) -> str | None:
    """The script of `text` when no rule of the engine reads it (Arabic, Hebrew, Thai, Devanagari, ...), else None."""
    if text.isascii() or _ONLY_READ_RE.fullmatch(text):
        return None
    script = main_script(text)
    return script if script is not None and script not in READ_SCRIPTS else None


# Headers of languages written without spaces between words: (entity, kind, regex searched in the raw header).
# Korean: 이름/성명/성함 (name), 고객명/환자명/회원명 (customer's, patient's, member's name), 전화/휴대폰/연락처 (phone,
# mobile, contact), 주소 (address), 주민등록번호 (resident registration number), 생년월일 (date of birth). Japanese:
# 氏名/名前/フリガナ (name and its reading), 住所 (address), 個人番号/マイナンバー (My Number), メール (e-mail).
# Thai: ชื่อ (name), นามสกุล (surname), โทร/เบอร์ (phone), ที่อยู่ (address), เลขบัตรประชาชน (ID card number).
HEADER_HINTS: list[tuple[str, str, str]] = [
    (
        "NATIONAL_ID",
        "direct_identifier",
        r"주민등록번호|주민번호|외국인등록번호|個人番号|マイナンバー|เลขบัตรประชาชน|บัตรประชาชน",
    ),
    ("PASSPORT", "direct_identifier", r"여권|旅券|パスポート|หนังสือเดินทาง"),
    ("PHONE_NUMBER", "direct_identifier", r"전화|휴대폰|핸드폰|연락처|携帯|電話|でんわ|โทร|เบอร์|มือถือ"),
    ("EMAIL_ADDRESS", "direct_identifier", r"이메일|메일|メール|อีเมล"),
    ("CREDIT_CARD", "direct_identifier", r"카드번호|계좌번호|口座番号|カード番号|เลขบัญชี|เลขที่บัญชี"),
    ("DATE_OF_BIRTH", "direct_identifier", r"생년월일|생일|生年月日|誕生日|วันเกิด|วันเดือนปีเกิด"),
    ("ADDRESS", "direct_identifier", r"주소|住所|所在地|ที่อยู่"),
    (
        "PERSON",
        "direct_identifier",
        r"이름|성명|성함|고객명|환자명|회원명|예금주|담당자|보호자|氏名|名前|フリガナ|ふりがな|ชื่อ|นามสกุล",
    ),
    ("ZIP_CODE", "quasi_identifier", r"우편번호|郵便番号|รหัสไปรษณีย์"),
    ("GENDER", "quasi_identifier", r"성별|性別|เพศ"),
    ("AGE", "quasi_identifier", r"나이|연령|年齢|อายุ"),
]
# A header that names a thing, not a person, although it holds a name word: 제품명 is a product's name, 会社名 a
# company's; ชื่อสินค้า a product's name (Thai puts the word for "name" first).
NOT_A_PERSON_HEADER = re.compile(
    r"제품|상품|회사|업체|지역|도시|품목|会社|商品|製品|店舗|部署|地域|สินค้า|บริษัท|ร้าน|จังหวัด|เมือง"
)
_NO_SPACE_SCRIPTS = re.compile(r"[\u0e00-\u0e7f\u3040-\u30ff\u1100-\u11ff\u3130-\u318f\uac00-\ud7af\u4e00-\u9fff]")


def header_hint(name: str) -> tuple[str, str] | None:
    """The entity a Korean, Japanese or Thai header names, or None."""
    if not _NO_SPACE_SCRIPTS.search(name):
        return None
    for entity, kind, pattern in HEADER_HINTS:
        if re.search(pattern, name):
            if entity == "PERSON" and NOT_A_PERSON_HEADER.search(name):
                continue
            return entity, kind
    return None


# Korean surnames: the census's most frequent, about 98% of the population; compound surnames first.
KOREAN_COMPOUND_SURNAMES = ("남궁", "황보", "제갈", "선우", "독고", "사공", "서문", "동방")
KOREAN_SURNAMES = frozenset(
    "김 이 박 최 정 강 조 윤 장 임 한 오 서 신 권 황 안 송 전 홍 류 유 고 문 양 손 배 조 백 허 "
    "남 심 노 하 곽 성 차 주 우 구 민 진 나 지 엄 채 원 천 방 공 현 함 변 염 여 추 도 소 석 선 "
    "설 마 길 연 위 표 명 기 반 라 왕 금 옥 육 인 맹 제 모 탁 국 어 은 편 용 예 경 봉 사 부 가 "
    "복 태 목 형 피 두 감 음 빈 동 온 호 범 좌 시 팽 승 간 상 갈 서 단 견 당".split()
)
_HANGUL_NAME_RE = re.compile(r"[가-힣]{2,5}")


def korean_name(value: str) -> bool:
    """A Korean name written as a name column holds it: a known surname and a one- to three-syllable given name
    ("홍길동", "남궁민수", "김 철수")."""
    text = value.strip().replace(" ", "")
    if not _HANGUL_NAME_RE.fullmatch(text):
        return False
    if text[:2] in KOREAN_COMPOUND_SURNAMES:
        return 1 <= len(text) - 2 <= 3
    return text[0] in KOREAN_SURNAMES and 1 <= len(text) - 1 <= 3


# Japanese family names: the most frequent ones. A name column's values are found by their shape (a family name and
# a given name separated by a space); these only tell Japanese names from pairs of Chinese words ("北京 朝阳").
JAPANESE_SURNAMES = frozenset(
    "佐藤 鈴木 高橋 田中 伊藤 渡辺 山本 中村 小林 加藤 吉田 山田 佐々木 山口 松本 井上 木村 林 斎藤 清水 "
    "山崎 森 池田 橋本 阿部 石川 山下 中島 石井 小川 前田 岡田 長谷川 藤田 後藤 近藤 村上 遠藤 青木 坂本 "
    "斉藤 福田 太田 西村 藤井 金子 岡本 藤原 中野 三浦 原田 中川 松田 竹内 小野 田村 中山 和田 石田 森田 "
    "上田 原 内田 柴田 酒井 宮崎 横山 高木 安藤 宮本 大野 小島 谷口 今井 工藤 高田 増田 丸山 杉山 村田 "
    "大塚 新井 小山 平野 藤本 河野 上野 野口 武田 松井 千葉 岩崎 菅原 木下 久保 佐野 野村 松尾 菊地 杉本 "
    "市川 古川 大西 島田 水野 桜井 高野 渡部 吉川 山内 西田 飯田 菊池 西川 小松 北村 安田 五十嵐 川口 平田 "
    "関 中田 久保田 服部 東 岩田 土屋 川崎 福島 本田 辻 樋口 秋山 田口 永井 山中 中西 吉村 川上 石原 "
    "大橋 松岡 馬場 浜田 森本 星野 矢野 浅野 大久保 松下 吉岡 小池 野田 荒木 大谷 内藤 松浦 熊谷 黒田 尾崎 "
    "永田 川村 望月 田辺 松村 荒井 堀 大島 平井 早川 菅野 栗原 西本 宇野 三上 津田 坂口".split()
)
_KANJI = "\u4e00-\u9fff々"
# A family name: one to three kanji or a katakana reading; a given name: kanji, hiragana ("さゆり", "くみ子") or
# katakana. A short sentence with one space ("本日中島 美咲が来店") mixes them and is neither.
_FAMILY_NAME = rf"[{_KANJI}]{{1,3}}|[ァ-ヺー]{{2,6}}"
_GIVEN_NAME = rf"[{_KANJI}]{{1,3}}|[ぁ-ゖ]{{2,3}}子?|[ァ-ヺー]{{2,6}}"
_JAPANESE_NAME_RE = re.compile(rf"({_FAMILY_NAME})[ \u3000]({_GIVEN_NAME})")


def japanese_name_rate(values: list[str]) -> float:
    """Share of values written as Japanese names are in forms ("木村 陽一", "キムラ ヨウイチ"): a family name and a
    given name of kanji or kana, separated by a space. Zero unless some of them are known family names or are
    written in kana: a space between two Chinese words ("北京 朝阳") has the same shape."""
    if not values:
        return 0.0
    matches = [m for m in (_JAPANESE_NAME_RE.fullmatch(v.strip()) for v in values) if m is not None]
    japanese = sum(1 for m in matches if m.group(1) in JAPANESE_SURNAMES or re.search(r"[\u3040-\u30ff]", m.group(0)))
    return len(matches) / len(values) if japanese >= 0.1 * len(values) else 0.0


def korean_name_rate(values: list[str]) -> float:
    """Share of values that are Korean names, when at least half are of three syllables, as most are (a column of
    two-syllable words that start with a surname syllable, such as place names, is not a name column)."""
    if not values:
        return 0.0
    names = [v.strip().replace(" ", "") for v in values if korean_name(v)]
    if sum(len(n) == 3 for n in names) < 0.5 * len(values):
        return 0.0
    return len(names) / len(values)


# -- names in notes ------------------------------------------------------------------------------------------------
# Korean: a name is followed by an honorific or a title ("홍길동님이", "김철수 고객님", "이영희 과장"), or
# follows a word that announces a person ("고객 홍길동", "담당자: 박민수"). Particles glued on are left out.
_HANGUL_WORD_RE = re.compile(r"[가-힣]+")
_KOREAN_GLUED_HONORIFICS = ("고객님", "선생님", "님", "씨")
_KOREAN_TITLES_AFTER = re.compile(
    r"(?:고객|환자|선생|과장|부장|대리|차장|사원|팀장|실장|교수|원장|기사|사장|주임|대표|이사|간호사|의사)"
)
_KOREAN_CUES_BEFORE = frozenset(
    "고객 환자 담당자 성명 이름 보호자 신청인 수취인 수령인 예금주 "
    "작성자 신고자 의뢰인 회원 직원 상담원 받는분 보내는분".split()
)
_KOREAN_PARTICLES = sorted(
    "이 가 은 는 을 를 의 에게 께서 께 와 과 도 로 으로 에게서 한테 이가 이는 이를 이의 이에게 이랑 랑 하고 에".split(),
    key=len,
    reverse=True,
)


def _korean_stem(word: str) -> str | None:
    """The name a Korean word starts with, its particle left off ("홍길동이" -> "홍길동"), or None."""
    candidates = [word] + [word[: -len(p)] for p in _KOREAN_PARTICLES if word.endswith(p) and len(word) > len(p)]
    names = [c for c in candidates if korean_name(c)]
    three = [c for c in names if len(c) == 3]  # most names have three syllables: "홍길동이" is 홍길동 and 이
    return (three or names or [None])[0]


def _korean_spans(text: str) -> list[tuple[int, int, str]]:
    spans = []
    words = list(_HANGUL_WORD_RE.finditer(text))
    for index, match in enumerate(words):
        word, start = match.group(0), match.start()
        for honorific in _KOREAN_GLUED_HONORIFICS:  # "홍길동님이", "김철수씨가", "박민수고객님"
            at = word.find(honorific, 3)  # a full name: two syllables before 님 are a title as often ("고객님")
            if 3 <= at <= 5 and korean_name(word[:at]):
                spans.append((start, start + at, "PERSON"))
                break
        else:
            before = words[index - 1] if index else None
            after = words[index + 1] if index + 1 < len(words) else None
            cued_before = (
                before is not None
                and before.group(0) in _KOREAN_CUES_BEFORE
                and not text[before.end() : start].strip(" :：,")
            )
            cued_after = (
                after is not None
                and _KOREAN_TITLES_AFTER.match(after.group(0))
                and not text[match.end() : after.start()].strip()
            )
            if (cued_before or cued_after) and (stem := _korean_stem(word)) is not None:
                spans.append((start, start + len(stem), "PERSON"))
            elif _uncued_korean_name(word):
                spans.append((start, start + 3, "PERSON"))
    return spans


# The surnames of nine Koreans in ten, less 하 and 주, which start the verbs 하다 and 주다 ("하려면", "주셔서").
_FREQUENT_KOREAN_SURNAMES = frozenset(
    "김 이 박 최 정 강 조 윤 장 임 한 오 서 신 권 황 안 송 "
    "류 전 홍 고 문 양 손 배 백 허 유 남 심 노 곽 성 차 우".split()
)


@functools.cache
def _korean_words() -> frozenset[str]:
    """wordfreq's 30,000 most frequent Korean words (no tokenizer needed to read the list)."""
    try:
        import wordfreq
    except ImportError:  # pragma: no cover - wordfreq is a dependency
        return frozenset()
    return frozenset(wordfreq.top_n_list("ko", 30_000, wordlist="best"))


def _uncued_korean_name(word: str) -> bool:
    """A three-syllable name with nothing to announce it ("어제 김민수와 통화함"): a frequent surname, and neither the
    word, its stem nor its first two syllables a frequent word ("권한이" is 권한 and a particle, "정보를" 정보). About
    two names in three are found so (the rest are also words, or start with a rarer surname); on the 920 strings of
    Django's Korean catalogue it marks three words."""
    stem = _korean_stem(word)
    if stem is None or len(stem) != 3 or stem[0] not in _FREQUENT_KOREAN_SURNAMES:
        return False
    words = _korean_words()
    return stem not in words and word not in words and stem[:2] not in words


# Japanese: a name followed by an honorific ("木村 陽一様", "佐藤さん", "タナカ氏"): a family name of kanji or katakana
# and an optional given name. Not the words that take the same honorifics ("お客様", "皆様", "店長さん", "様子").
_JAPANESE_HONORIFIC_RE = re.compile(
    rf"((?:[{_KANJI}]{{1,4}}|[ァ-ヺー]{{2,8}})(?:[ \u3000](?:[{_KANJI}ぁ-ゖ]{{1,4}}|[ァ-ヺー]{{2,8}})"
    rf"|(?:[{_KANJI}]{{1,4}}|[ァ-ヺー]{{2,8}}))?)"  # a given name after a space may be hiragana ("西村 さゆり様")
    r"(?:様(?![々子式相態])|さま|さん|氏|殿|先生|くん|ちゃん)"
)
_JAPANESE_NOT_NAMES = frozenset(
    "客 お客 皆 奥 神 王 仏 患者 利用者 会員 担当 担当者 店長 社長 部長 課長 "
    "係長 運転手 看護師 医師 父 母 兄 姉 弟 妹 息子 娘 "
    "旦那 家族 赤 各位 皆々 お父 お母 お兄 お姉 ご主人 "
    "主人 先方 相手 本人 ご本人 同 貴 殿 様 その他 各 店員 職員 隣 大家".split()
)


# A family name and a given name with a space between them, as forms and signatures write them
# ("本日西村 さゆりが来店"): Japanese puts no spaces between words, so a known family name before one starts a name.
_JAPANESE_SPACED_RE = re.compile(rf"([{_KANJI}]+)[ \u3000]({_GIVEN_NAME})")


def _japanese_spans(text: str) -> list[tuple[int, int, str]]:
    spans = []
    for match in _JAPANESE_SPACED_RE.finditer(text):
        run = match.group(1)
        given = re.sub(r"[様氏殿]+$", "", match.group(2))  # "結衣様": the honorific is no part of the name
        for size in (3, 2, 1):
            if given and len(run) >= size and run[-size:] in JAPANESE_SURNAMES:
                spans.append((match.end(1) - size, match.start(2) + len(given), "PERSON"))
                break
    for match in _JAPANESE_HONORIFIC_RE.finditer(text):
        name = match.group(1)
        bare = name.replace(" ", "").replace("\u3000", "")
        if bare in _JAPANESE_NOT_NAMES or (len(bare) == 1 and bare not in JAPANESE_SURNAMES):
            continue
        if match.start(1) and text[match.start(1) - 1] in "おご":  # "お客様", "ご主人様"
            continue
        spans.append((match.start(1), match.end(1), "PERSON"))
    return spans


# Cyrillic: capitalised words that are a person's by their endings (a patronymic, a Slavic surname, in any case
# form), by initials ("Иванов И. И."), or by a word that announces a person ("клиент", "пациентка", "г-жа").
_CYR_UPPER, _CYR_LOWER = "А-ЯЁІЇЄҐ", "а-яёіїєґʼ'"
_CYR_WORD = rf"[{_CYR_UPPER}][{_CYR_LOWER}]+(?:-[{_CYR_UPPER}][{_CYR_LOWER}]+)?"
_CYR_NAME_ENDING = re.compile(
    r"(?:ович|евич|ьич|овн|евн|ичн|ївн)[а-яіїє]{0,3}$"  # patronymics: Дмитриевич, Петровна, Петрівна
    r"|(?:ов|ев|ёв|ин|ын)(?:а|у|ым|ой|ою|е|ых|ым|ими)?$"  # Сазонов, Сазоновой, Сазонову
    r"|(?:ск|цк)(?:ий|ая|ого|ому|им|ой|ую|ом)$"  # Вишневский, Вишневская
    r"|(?:енко|ук|юк|чук|ян|швили|дзе|ко)$"
)
_CYR_RUN_RE = re.compile(rf"{_CYR_WORD}(?:[ \u00a0]+{_CYR_WORD}){{0,3}}")
_CYR_INITIALS_RE = re.compile(
    rf"({_CYR_WORD})[ \u00a0]+[{_CYR_UPPER}]\.[ \u00a0]?(?:[{_CYR_UPPER}]\.)?"
    rf"|[{_CYR_UPPER}]\.[ \u00a0]?(?:[{_CYR_UPPER}]\.[ \u00a0]?)?({_CYR_WORD})"
)
_CYR_CUES = re.compile(
    r"(?i:клиент|пациент|гражданин|гражданк|господин|госпож|г-н|г-жа|сотрудни|менеджер|врач|доктор|уважаем|"
    r"абонент|заявител|покупател|получател|отправител|водител|курьер|оператор|пан|панн|пані|добродій|клієнт)"
    r"[а-яіїє]*"
)
_CYR_CUE_BEFORE_RE = re.compile(
    rf"(?<![{_CYR_LOWER}{_CYR_UPPER}])({_CYR_CUES.pattern})[ \u00a0:,]+({_CYR_WORD}(?:[ \u00a0]+{_CYR_WORD}){{0,2}})"
)


# Capitalised nouns of states, regions and bodies that stand next to an adjective ending as a surname does
# ("Российская Федерация", "Московский Университет"), and the polite pronoun: such a run is no name.
_CYR_NOT_NAMES = frozenset(
    "федерация республика область край округ район город банк университет институт академия союз министерство "
    "служба суд театр музей площадь улица проспект собор церковь партия компания завод федерації республіка "
    "область університет "
    # the polite "you", capitalised in letters ("Нижче Ви можете...")
    "вы вас вам вами ваш ваша ваше ваши вашего вашей вашему вашим ваших ви ваші вашого вашої".split()
)


@functools.lru_cache(maxsize=20_000)
def _everyday_cyrillic(word: str) -> bool:
    """A word as frequent as "вчера" or "сегодня" in Russian or Ukrainian (Zipf 5 or more): at a sentence's start it
    is capitalised, but no name. Given names are less frequent ("иван" 4.9, "оксана" 4.5)."""
    try:
        import wordfreq
    except ImportError:  # pragma: no cover - wordfreq is a dependency
        return False
    folded = word.lower()
    return max(wordfreq.zipf_frequency(folded, "ru"), wordfreq.zipf_frequency(folded, "uk")) >= 5.0


_SENTENCE_OPENING_RE = re.compile(r"(?:^|[.!?:;\n]\s*)$")


def _cyrillic_spans(text: str) -> list[tuple[int, int, str]]:
    """Names in Cyrillic text: capitalised words in a row, a cue word or an everyday word opening the sentence left
    out ("Клиент Сазонов Арсений", "Вчера Иванов звонил"), two or more of them, or one with a name's ending; Russian
    and Ukrainian capitalise proper names only."""
    spans = []
    for match in _CYR_RUN_RE.finditer(text):
        words = list(re.finditer(_CYR_WORD, match.group(0)))
        if any(w.group(0).lower() in _CYR_NOT_NAMES for w in words):
            continue
        dropped = False
        while words and _CYR_CUES.fullmatch(words[0].group(0)):  # "Клиент Сазонов Арсений": the cue is no name
            words.pop(0)
            dropped = True
        opening = _SENTENCE_OPENING_RE.search(text[: match.start()]) is not None
        if words and opening and not dropped and _everyday_cyrillic(words[0].group(0)):
            words.pop(0)
            dropped = True
        if len(words) >= 2 or (dropped and words and _CYR_NAME_ENDING.search(words[0].group(0).lower())):
            spans.append((match.start() + words[0].start(), match.start() + words[-1].end(), "PERSON"))
    for match in _CYR_INITIALS_RE.finditer(text):
        spans.append((match.start(), match.end(), "PERSON"))
    for match in _CYR_CUE_BEFORE_RE.finditer(text):
        spans.append((match.start(2), match.end(2), "PERSON"))
    return spans


# Greek: two to four capitalised words in a row ("Γιώργος Παπαδόπουλος"); a place of two words is taken too.
_GREEK_WORD = r"[Α-ΩΆΈΉΊΌΎΏΪΫ][α-ωάέήίόύώϊϋΐΰς]+"
_GREEK_RUN_RE = re.compile(rf"{_GREEK_WORD}(?:[ \u00a0]+{_GREEK_WORD}){{1,3}}")


# -- addresses in notes ---------------------------------------------------------------------------------------------
# Japanese: an optional prefecture, one to three municipalities (市, 区, 町, 村, 郡), a district, then the block
# numbers (24丁目20番16号, 3-5-12) and an optional building with its room
# ("愛媛県町田市油井24丁目20番16号 アーバン上高野887").
_JA_ADDRESS_RE = re.compile(
    r"(?:東京都|北海道|(?:京都|大阪)府|[一-龥]{2,3}県)?(?:[一-龥ァ-ヶー々]{1,8}?[市区町村郡]){1,3}"
    r"[一-龥ァ-ヶー々ぁ-ゖ]{0,10}?\d{1,4}(?:丁目|-)\d{1,4}(?:番地?|-)?(?:\d{1,4}号?)?"
    r"(?:[ \u3000][^\s。、,，]{1,20}?\d{1,5}(?:号室)?)?"
)
# Korean: a province or metropolitan city, one or two 시/군/구, an optional 동/읍/면, then a road (로, 길, 대로) or a
# block (가) with its number ("제주특별자치도 부천시 백제고분91로 565-30"), and the building or village in brackets.
_KO_ADDRESS_RE = re.compile(
    r"(?:[가-힣]{2,8}(?:특별시|광역시|특별자치시|특별자치도|도)\s)?(?:[가-힣]{1,8}(?:시|군|구)\s){1,2}"
    r"(?:[가-힣]{1,8}(?:동|읍|면)\s)?[가-힣0-9]{1,12}(?:로|길|대로|가)\s?\d{1,5}(?:-\d{1,5})?"
    r"(?:\s?\([^)]{1,20}\))?"
)
# Russian and Ukrainian: a street of a known kind (ул., пер., просп., бул., наб., ш., вул.) and a house number (д.,
# буд.), with the town before it and the flat, building and postcode after it where they are written.
_CYR_ADDRESS_RE = re.compile(
    r"(?:(?:г|п|к|с|пгт|клх|д|м|смт)\.\s?[А-ЯЁІЇЄ][а-яёіїє-]+,\s)?"
    r"(?:ул|улица|пер|переулок|просп|пр-кт|пр|проспект|бул|бульвар|наб|набережная|ш|шоссе|пл|площадь|мкр|ал|аллея|"
    r"тупик|проезд|вул|вулиця|пров|провулок|майдан|узвіз|шосе|площа|набережна|проїзд|алея)\.?\s"
    r"[А-ЯЁІЇЄ0-9][^,\n]{1,40},\s?(?:д|дом|буд)\.\s?\d+[а-яіїє]?"
    r"(?:,?\s?(?:к|корп|стр)\.\s?\d+)?(?:,?\s?кв\.\s?\d+)?(?:,\s[А-ЯЁІЇЄ][а-яёіїє'’-]+)?(?:,\s?\d{5,6})?"
)


def address_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, "ADDRESS") of Japanese, Korean, Russian and Ukrainian street addresses in `text`. Each pattern
    runs only on text that holds its mark: a digit, and 丁目 or 番 (not in Chinese addresses, which the Chinese rules
    read), Hangul, or Cyrillic."""
    if not _DIGIT_RE.search(text):
        return []
    marks = ((_JA_ADDRESS_RE, _JA_ADDRESS_MARK_RE), (_KO_ADDRESS_RE, _KOREAN_RE), (_CYR_ADDRESS_RE, _CYRILLIC_ANY_RE))
    return [
        (m.start(), m.end(), "ADDRESS") for pattern, mark in marks if mark.search(text) for m in pattern.finditer(text)
    ]


def address_rate(values: list[str]) -> float:
    """Share of values that are such an address, nearly whole (a column of them is an address column whatever its
    header; a column of notes that mention one is not)."""
    if not values:
        return 0.0
    return sum(1 for v in values if sum(e - s for s, e, _ in address_spans(v)) >= 0.8 * len(v.strip())) / len(values)


_KOREAN_RE = re.compile(r"[가-힣]")
_CYRILLIC_RE = re.compile(rf"[{_CYR_UPPER}]")
_GREEK_RE = re.compile(r"[Α-ΩΆΈΉΊΌΎΏ]")
_JA_ADDRESS_MARK_RE = re.compile(r"丁目|番")
_CYRILLIC_ANY_RE = re.compile(r"[А-яЁёІіЇїЄє]")
_DIGIT_RE = re.compile(r"\d")


def text_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, entity) of names in Korean, Japanese, Cyrillic and Greek text, and of addresses."""
    spans = address_spans(text)
    if _KOREAN_RE.search(text):
        spans.extend(_korean_spans(text))
    if KANA_RE.search(text):  # Japanese writes kana in every sentence; Chinese "王先生" is the Chinese rules'
        spans.extend(_japanese_spans(text))
    if _CYRILLIC_RE.search(text):
        spans.extend(_cyrillic_spans(text))
    if _GREEK_RE.search(text):
        spans.extend((m.start(), m.end(), "PERSON") for m in _GREEK_RUN_RE.finditer(text))
    return spans
