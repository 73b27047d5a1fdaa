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
- names in Korean, Japanese and Cyrillic notes, found by their cues (`text_spans`).

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


def main_script(text: str) -> str | None:
    """The script most of the letters of `text` are written in; None when it has no letters."""
    counts: dict[str, int] = {}
    for char in text:
        if (script := script_of(char)) is not None:
            counts[script] = counts.get(script, 0) + 1
    return max(counts, key=counts.__getitem__) if counts else None


def unread_script(text: str) -> str | None:
    """The script of `text` when no rule of the engine reads it (Arabic, Hebrew, Thai, Devanagari, ...), else None."""
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
_KANA_OR_KANJI = r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff々ー]"
_JAPANESE_NAME_RE = re.compile(rf"({_KANA_OR_KANJI}{{1,5}})[ \u3000]({_KANA_OR_KANJI}{{1,5}})")


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
