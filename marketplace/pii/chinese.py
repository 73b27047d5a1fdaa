"""Chinese personal information (PIPL; GB/T 35273 sensitive personal information; GB/T 37964 de-identification):
identity numbers, phones, bank cards, credit codes, passports, plates, QQ and WeChat IDs, addresses and names, in
columns and in text. Django-free.

Chinese text has no spaces, and a Han character and a digit are both "word" characters, so `\\b` never separates
"卡号" from "6222…": every pattern here bounds digits with (?<!\\d) / (?!\\d) instead. Names are found by surname
knowledge (the surnames in use are a small, stable set, single and compound) next to cue words (先生, 女士, 患者,
家属, 联系人…), or whole in a column; surnames are data, not a list of the people to find.

Traditional Chinese (Taiwan, Hong Kong, Macau) is read through its Simplified view (`simplified`): the same text,
character for character, so every span found in the view is the same span of the original. The surnames, cue words,
address words and headers below are written once, in Simplified characters; before the view, "陳大文來電" was no
name and 110 of 120 Traditional notes kept their names.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, date, datetime

from marketplace.pii import scripts

HAN = "\u4e00-\u9fff"
HAN_RE = re.compile(f"[{HAN}]")


@functools.cache
def _script_tables() -> tuple[dict[int, int], dict[int, int]]:
    """(Traditional -> Simplified, Simplified -> Traditional), one character for one: hanziconv's table (Apache-2.0),
    plus the merged variants it leaves as they are. Phrase-level converters such as OpenCC may change a text's
    length, which would move every span found in it."""
    from hanziconv.charmap import simplified_charmap, traditional_charmap

    to_simplified = str.maketrans(traditional_charmap, simplified_charmap)
    to_simplified.update(str.maketrans(_MERGED_VARIANTS[0::2], _MERGED_VARIANTS[1::2]))
    return to_simplified, str.maketrans(simplified_charmap, traditional_charmap)


# Variants that Simplified Chinese merged into another character and hanziconv's table leaves as they are: "備註"
# (remarks, as Taiwan writes it) must read "备注", or a notes column was taken for a safe one.
_MERGED_VARIANTS = "註注祕秘週周羣群衆众佈布佔占峯峰鉅巨託托餵喂姪侄牀床粧妆蔘参"


def simplified(text: str) -> str:
    """`text` with each Traditional character replaced by its Simplified one ("陳" -> "陈", "來電" -> "来电"), and
    of the same length: a span of the result is the same span of `text`."""
    return text.translate(_script_tables()[0])


def traditional(text: str) -> str:
    """`text` in Traditional characters, one for one (where a Simplified character stands for several, the table's
    usual one): for fakes that replace Traditional values."""
    return text.translate(_script_tables()[1])


# --- identity numbers (GB 11643-1999): 6-digit region, 8-digit birth date, 3-digit sequence, ISO 7064 MOD 11-2 check
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
PROVINCES = {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52, 53, 54,
             61, 62, 63, 64, 65, 71, 81, 82, 83, 91}  # fmt: skip
RESIDENT_ID_RE = re.compile(r"(?<![\dA-Za-z])(?:\d{17}[\dXx]|\d{15})(?![\dA-Za-z])")


def resident_id_check_char(first17: str) -> str:
    return _ID_CHECK[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def _valid_date(year: int, month: int, day: int) -> bool:
    try:
        born = date(year, month, day)
    except ValueError:
        return False
    return date(1880, 1, 1) <= born <= datetime.now(UTC).date()


def resident_id_valid(value: str) -> bool:
    """An 18-character resident identity number with a valid region, birth date and check character, or the old
    15-digit form (region, YYMMDD birth date, no check character)."""
    text = value.strip().upper()
    if re.fullmatch(r"\d{17}[\dX]", text):
        return (
            int(text[:2]) in PROVINCES
            and _valid_date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
            and resident_id_check_char(text[:17]) == text[17]
        )
    if re.fullmatch(r"\d{15}", text):
        return int(text[:2]) in PROVINCES and _valid_date(1900 + int(text[6:8]), int(text[8:10]), int(text[10:12]))
    return False


# --- phones: mobiles 1[3-9]x xxxx xxxx with or without +86/0086; landlines 0 + 2-3 digit area code + 7-8 digits
MOBILE_RE = re.compile(r"(?<![\d+])(?:(?:\+|00)86[\s-]?)?1[3-9]\d[\s-]?\d{4}[\s-]?\d{4}(?!\d)")
LANDLINE_RE = re.compile(r"(?<![\d+])(?:(?:\+|00)86[\s-]?)?\(?0\d{2,3}\)?[\s-]?\d{7,8}(?!\d)")
# Taiwan: mobiles 09xx xxx xxx (+886 9xx xxx xxx), landlines (0)2-8 area code and a local number written with a
# separator before its last four digits ("02-2345-6789", "(07)123-4567"). Hong Kong: eight digits after +852, or
# after a phone word ("电话", "手机", "打", "call"): a bare eight-digit run is as often an amount or an order number.
TW_MOBILE_RE = re.compile(r"(?<![\d+])(?:(?:\+|00)886[\s-]?|0)9\d{2}[\s-]?\d{3}[\s-]?\d{3}(?!\d)")
TW_LANDLINE_RE = re.compile(r"(?<![\d+])(?:(?:\+|00)886[\s-]?\(?|\(?0)[2-8]\d?\)?[\s-]?\d{3,4}[\s-]\d{4}(?!\d)")
HK_PHONE_RE = re.compile(r"(?<![\d+])(?:\+|00)852[\s-]?[2-9]\d{3}[\s-]?\d{4}(?!\d)")
CUED_PHONE_RE = re.compile(
    r"(?:电话|手机|手提|联络|联系|致电|回拨|回电|打|(?i:call|phone|tel|mobile|whatsapp))[^\d\n]{0,6}"
    r"(?<![\d+])([2-9]\d{3}[\s-]?\d{4})(?![\d-])"
)


def mobile_valid(value: str) -> bool:
    return MOBILE_RE.fullmatch(value.strip()) is not None


def phone_valid(value: str) -> bool:
    text = value.strip()
    return MOBILE_RE.fullmatch(text) is not None or LANDLINE_RE.fullmatch(text) is not None


def mask_mobile(value: str) -> str | None:
    """The conventional 3-4-4 mask of a mainland mobile number (GB/T 37964): 138****5678, prefix kept."""
    match = re.fullmatch(r"((?:\+|00)86[\s-]?)?(1[3-9]\d)[\s-]?(\d{4})[\s-]?(\d{4})", value.strip())
    if match is None:
        return None
    return f"{match.group(1) or ''}{match.group(2)}****{match.group(4)}"


# --- bank cards: 16 to 19 digits (Luhn), spaces or dashes allowed, digit-bounded
BANK_CARD_RE = re.compile(r"(?<!\d)(?:\d[ -]?){15,18}\d(?!\d)")

# --- unified social credit codes (GB 32100-2015): 18 characters, check character modulo 31
_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
USCC_RE = re.compile(r"(?<![0-9A-Z])[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}(?![0-9A-Z])")


def uscc_check_char(first17: str) -> str:
    total = sum(_USCC_CHARS.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_CHARS[(31 - total % 31) % 31]


def uscc_valid(value: str) -> bool:
    text = value.strip().upper()
    return (
        len(text) == 18
        and all(c in _USCC_CHARS for c in text)
        and text[2:8].isdigit()
        and uscc_check_char(text[:17]) == text[17]
    )


# --- Taiwan's national identification number: a letter for the place of first registration, 1/2 (citizens) or 8/9
# (residents' new-format certificates), seven digits and a check digit (the letter's two-digit code weighted 1 and 9,
# the digits 8 to 1, the check digit 1: the sum is a multiple of ten).
_TW_LETTER_CODES = dict(zip("ABCDEFGHJKLMNPQRSTUVXYWZIO", range(10, 36), strict=True))
TW_ID_RE = re.compile(r"(?<![0-9A-Za-z])[A-Z][1289]\d{8}(?![0-9A-Za-z])")


def tw_id_valid(value: str) -> bool:
    text = value.strip().upper()
    if not re.fullmatch(r"[A-Z][1289]\d{8}", text):
        return False
    code = _TW_LETTER_CODES[text[0]]
    total = code // 10 + 9 * (code % 10) + sum(int(d) * w for d, w in zip(text[1:9], range(8, 0, -1), strict=True))
    return (total + int(text[9])) % 10 == 0


# --- Hong Kong identity card: one or two letters, six digits and a check character (0-9 or A), usually written in
# brackets; the check is modulo 11 over the letters (A=10 ... Z=35, a space of 36 before a single letter) and digits
# weighted 9 to 2.
HK_ID_RE = re.compile(r"(?<![0-9A-Za-z])[A-Z]{1,2}\d{6}\s?(?:\([0-9A]\)|[0-9A])(?![0-9A-Za-z])")


def hk_id_valid(value: str) -> bool:
    text = re.sub(r"[\s()]", "", value.strip().upper())
    if not re.fullmatch(r"[A-Z]{1,2}\d{6}[0-9A]", text):
        return False
    body = text[:-1].rjust(8)
    values = [36 if c == " " else (ord(c) - 55 if c.isalpha() else int(c)) for c in body]
    check = (11 - sum(v * w for v, w in zip(values, range(9, 1, -1), strict=True)) % 11) % 11
    return text[-1] == ("A" if check == 10 else str(check))


def tw_or_hk_id_valid(value: str) -> bool:
    return tw_id_valid(value) or hk_id_valid(value)


_CHECKED = (
    (RESIDENT_ID_RE, resident_id_valid, "CN_RESIDENT_ID"),
    (USCC_RE, uscc_valid, "CN_USCC"),
    (TW_ID_RE, tw_id_valid, "NATIONAL_ID"),
    (HK_ID_RE, hk_id_valid, "NATIONAL_ID"),
)


def checked_identifiers(text: str) -> list[str]:
    """The entities of the identity numbers in `text` whose check character holds (mainland resident IDs, credit
    codes, Taiwan and Hong Kong IDs): found wherever they stand, whatever the column was taken for."""
    if not any(map(str.isdigit, text)):
        return []
    return [entity for pattern, valid, entity in _CHECKED if any(valid(m.group(0)) for m in pattern.finditer(text))]


# --- passports (E/G + 8 digits, or cued), licence plates, QQ and WeChat next to their cue words
PASSPORT_RE = re.compile(r"(?<![0-9A-Za-z])[EGDSPHegdsph]\d{8}(?!\d)|(?<=护照)[号码:：\s]*([A-Z]{1,2}\d{7,8})")
# Travel permits after their names (港澳通行证 C12345678, 台胞证, 回乡证, 居留证, 签证), and bank account numbers after
# an account word: an account has no check digit, so a number that fails a card's Luhn check was left in the note.
PERMIT_RE = re.compile(
    r"(?:通行证|台胞证|回乡证|居留证|居留许可|签证)[号码编:：\s]*([A-Z]{0,2}\d{7,10})(?![0-9A-Za-z])"
)
ACCOUNT_RE = re.compile(r"(?:账号|帐号|账户|帐户|卡号|银行卡|存折)[号码:：\s]*(\d[\d -]{6,30}\d)(?!\d)")
PROVINCE_ABBREVIATIONS = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
PLATE_RE = re.compile(rf"[{PROVINCE_ABBREVIATIONS}][A-HJ-NP-Z]·?[A-HJ-NP-Z0-9]{{5,6}}(?![A-Za-z0-9])")
QQ_RE = re.compile(r"(?i:QQ|扣扣)(?:号|号码)?\s*[:：]?\s*([1-9]\d{4,11})(?!\d)")
WECHAT_RE = re.compile(
    r"(?:微信|(?i:wechat|weixin|wx))(?:号|ID|id)?\s*[:：]?\s*([A-Za-z][-_A-Za-z0-9]{5,19})(?![-_A-Za-z0-9])"
)

# --- addresses: province/city/district, road or village, a number, building/unit/room
_ADDRESS_PREFIX = (
    rf"(?:[{HAN}]{{2,8}}(?:省|自治区|特别行政区))?(?:[{HAN}]{{2,8}}(?:市|州|盟|地区))?(?:[{HAN}]{{1,8}}(?:区|县|旗))?"
)
ADDRESS_RE = re.compile(
    _ADDRESS_PREFIX
    + rf"(?:[{HAN}]{{1,8}}(?:镇|乡|街道))?[{HAN}0-9]{{1,12}}?(?:路|街|大道[中东西南北]?|大街|巷|弄|胡同|村|里|"
    # Hong Kong's roads are 道 ("弥敦道", "轩尼诗道"); not the 道 of everyday words ("知道3号会到").
    + r"(?<![知报频渠通味难说轨街车])道)"
    # A road's section, lane and alley, as Taiwan writes them: "文化路一段123巷4弄5號7樓".
    + r"(?:[0-9一二三四五六七八九十]+段)?(?:[0-9]+巷)?(?:[0-9]+弄)?"
    + r"(?:[0-9一二三四五六七八九十百]+(?:号|弄|巷)|[A-Za-z0-9]{1,3}座)"
    + r"(?:[0-9一二三四五六七八九十]+(?:号楼|栋|幢|座))?(?:[0-9一二三四五六七八九十]+单元)?(?:[0-9]+室)?"
    + r"(?:[0-9一二三四五六七八九十]+楼)?"
)

# Words that introduce an address and get swallowed by the province/city pattern ("住在广东省…").
_ADDRESS_LEAD_RE = re.compile(r"(?:家住|住在|住于|居住在|居住于|现住|位于|地址|住址|在)[:：]?")

# --- names
SINGLE_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟"
    "谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安"
    "齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛"
    "靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧"
    "闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝官封谈匡鞠惠荆乐冀郁胥南班储原栗燕楚鄢劳谌奚"
    "皮粟冼蔺楼盘满闻位厉伊仝区郜海阚花权强帅屠豆朴盖练廉禹井祖漆巴丰支卿国狄平计索宣晋相初门云容敬来扈晁芮都普阙浦"
    "戈伏鹿薄邸雍辜羊阿乌母裘亓修邰赫杭况那宿鲜印逯隆茹诸战慕危玉银亢嵇公哈湛宾戎勾茅利於呼居揭干但尉冶斯元束檀衣信"
    "展阴昝智幸奉植衡富尧闭由"
    # Common in Taiwan and the south, and missing above: 賴, 洪, 蕭, 傅 were a twentieth of Faker's zh_TW names.
    "赖洪萧傅粘丘阎凃"
)
COMPOUND_SURNAMES = (
    "欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "令狐", "慕容", "尉迟", "公孙", "夏侯", "长孙", "宇文", "司徒",
    "轩辕", "端木", "南宫", "西门", "独孤", "百里", "呼延", "澹台", "万俟", "闻人", "东郭", "拓跋", "申屠",
)  # fmt: skip
_SURNAME = "(?:" + "|".join(COMPOUND_SURNAMES) + f"|[{SINGLE_SURNAMES}])"
# Words that start with a surname character but are everyday words, not names ("王府", "高兴", "明天"…).
NOT_NAMES = frozenset(
    "高兴 明天 明白 时间 时候 方便 方面 文件 文化 安全 安排 平时 平安 万一 金额 石头 白天 "
    "江苏 黄色 黎明 常规 常用 温度 康复 施工 万元 程序 任何 任务 全部 全天 应该 和平 和谐 "
    "于是 向来 关于 关系 成功 成为 通知 宁可 原因 原来 管理 车辆 项目 连续 简单 曾经 才能 "
    "强调 方案 周末 周一 周二 周三 周四 周五 周六 周日 周围 杨树 林业 马上 朱红".split()
)
NAME_CUES_BEFORE = (
    "患者|病人|家属|联系人|联络人|紧急联系人|客户|用户|申请人|持卡人|户主|本人|配偶|丈夫|妻子|父亲|母亲|儿子|女儿|爷爷|奶奶|"
    "外公|外婆|哥哥|姐姐|弟弟|妹妹|邻居|同事|朋友|监护人|经办人|收件人|寄件人|医生|护士|主治医师|签名|姓名"
)
# A title before a name as well as after it ("经理叶倩文核准退款"). A title is followed by ordinary words too
# ("顾问公司", "司机师傅", "司机高速上"), so a name after one must not begin with a frequent dictionary word (see
# `_starts_with_word`; "老师常说" is still taken for a name, as the segmentation took it before this rule).
TITLE_CUES_BEFORE = "经理|主任|老师|教授|律师|店长|专员|顾问|司机|业务员|承办人|负责人"
NAME_CUES_AFTER = "先生|女士|小姐|老师|医生|护士|经理|主任|同学|阿姨|叔叔|师傅|老板|总|教授|律师|院长|书记"
_GIVEN = f"[{HAN}]{{1,2}}"
NAME_AFTER_CUE_RE = re.compile(rf"(?:{NAME_CUES_BEFORE})\s*[:：,，]?\s*({_SURNAME}{_GIVEN})")
NAME_BEFORE_TITLE_RE = re.compile(rf"({_SURNAME}{_GIVEN}?)(?={NAME_CUES_AFTER})")
NAME_AFTER_TITLE_RE = re.compile(rf"(?:{TITLE_CUES_BEFORE})\s*[:：,，]?\s*({_SURNAME}{_GIVEN})")


def name_shaped(value: str) -> bool:
    """A whole value that is a Chinese name: a known surname and one to three given-name characters."""
    text = simplified(value.strip())
    return bool(re.fullmatch(rf"{_SURNAME}[{HAN}]{{1,3}}", text)) and text not in NOT_NAMES


# Characters that, right after a one-character given name, usually begin the next word (a verb or particle), so
# "李明说" is 李明 + 说, not a three-character given name.
_NEXT_WORD = set(
    "说讲称表示来去到在是的了和与及把被给让向对于也都还就又已才将会要想打电话联系告诉提出签字确认同意拒绝陪同住"
)


_HAN_WORD_RE = re.compile(f"[{HAN}]+")
_SURNAME_CHARS = frozenset(SINGLE_SURNAMES) | {compound[0] for compound in COMPOUND_SURNAMES}
# Where a name may start: one regex scan instead of a Python loop over every character of every note.
_SURNAME_CHAR_RE = re.compile("[" + "".join(sorted(_SURNAME_CHARS)) + "]")
_SEGMENTER = None


def segmenter():
    """jieba's tokenizer, loaded on first use (0.7 s: its dictionary)."""
    global _SEGMENTER
    if _SEGMENTER is None:
        import logging

        import jieba

        jieba.setLogLevel(logging.WARNING)
        jieba.initialize()
        _SEGMENTER = jieba.dt
    return _SEGMENTER


# Surnames that jieba cuts off from a given name that is itself a word ("刘|聪明", "孙|婷婷", "江|静宜"), and that
# are seldom words on their own: not 和, 于, 向, 高, 白, 马, 金, 方, 常, 曾 (and, at, towards, tall, white, horse,
# gold, square, often, once). 张 is a measure word after a number ("一张"), so it counts only after none.
_LONE_SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙胡朱郭何林罗郑梁谢宋唐许韩冯邓曹彭萧肖董袁潘蒋蔡杜叶程苏魏吕丁沈姚卢姜崔钟谭陆汪范廖"
    "贾夏韦邹熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵钱严覃戴莫孔汤温康施牛樊葛邢赖洪傅詹庄柯翁阮游简"
)
_NUMERALS = set("一二三四五六七八九十两几这那每整半数多0123456789")


def _lone_surname_before_given_name(word: str, before: str, after: str) -> bool:
    """A surname cut off as a word of its own, before a two-character word that is a given name ("刘|聪明")."""
    if len(word) != 1 or word not in _LONE_SURNAMES or len(after) != 2 or not _HAN_WORD_RE.fullmatch(after):
        return False
    if before and (before[-1] in _NUMERALS or _HAN_WORD_RE.fullmatch(before[-1]) and len(before) == 1):
        return False  # "一张桌子"; and a lone character before it is a word of its own, rarely a name's neighbour
    return after[0] not in _NEXT_WORD and after not in _EVERYDAY_AFTER_SURNAME


# Two-character words that follow a lone surname character as an everyday word does ("王|先生" is a title, found by
# its own rule; "周|末" is one word already).
_EVERYDAY_AFTER_SURNAME = frozenset("先生 女士 小姐 老师 医生 经理 主任 同学 阿姨 师傅 老板 教授 律师 总监".split())


def _may_start_name(text: str, i: int, freq: dict[str, int]) -> bool:
    if text[i : i + 2] in COMPOUND_SURNAMES:
        return True
    if text[i] not in _SURNAME_CHARS or i + 1 >= len(text) or not _HAN_WORD_RE.fullmatch(text[i + 1]):
        return False
    starts_word = any(freq.get(text[i : i + k], 0) > 0 for k in (2, 3, 4))
    ends_word = any(i - k >= 0 and freq.get(text[i - k : i + 1], 0) > 0 for k in (1, 2, 3))
    return not starts_word and not ends_word


def segmented_names(text: str, found: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Names that no cue announces ("梁鑫昨天来电", "今天曹英和…"), from word segmentation: jieba's HMM joins the
    characters of a name it has never seen into one new word, so a word of two to four characters that starts with a
    surname and is in neither jieba's dictionary nor our list of everyday words is taken for a name. Only texts with
    a surname character outside what was found already are segmented (a quarter of a millisecond a note)."""
    covered = bytearray(len(text))
    for start, end, _ in found:
        covered[start:end] = b"\x01" * (end - start)
    candidates = [m.start() for m in _SURNAME_CHAR_RE.finditer(text) if not covered[m.start()]]
    if not candidates:
        return []
    jieba = segmenter()
    # Segmenting costs a quarter of a millisecond a note; skipped unless some uncovered surname character may start
    # a name: followed by a Han character, and neither starting nor ending a dictionary word (安排, 高血压, 复查,
    # 阿司匹林 are words; 梁鑫 and 欧阳… may be names).
    if not any(_may_start_name(text, i, jieba.FREQ) for i in candidates):
        return []
    words = jieba.lcut(text, HMM=True)
    spans, position = [], 0
    for index, word in enumerate(words):
        start, position = position, position + len(word)
        after = words[index + 1] if index + 1 < len(words) else ""
        if _lone_surname_before_given_name(word, words[index - 1] if index else "", after):
            end = position + len(after)
            if not any(covered[start:end]) and word + after not in NOT_NAMES:
                spans.append((start, end, "PERSON"))
            continue
        if not 2 <= len(word) <= 4 or any(covered[start:position]):
            continue
        compound = word[:2] in COMPOUND_SURNAMES
        if not (compound or word[0] in SINGLE_SURNAMES) or not _HAN_WORD_RE.fullmatch(word):
            continue
        # A dictionary word (prefixes of words are kept at 0) is an everyday word, even where jieba tags it a name
        # ("安全检查", "王府井" and "单元格" are "nr" there); past a compound surname it is a name all the same
        # ("欧阳明"). So the real names jieba's dictionary holds (陈冠宇, 王志强) are found only by a cue.
        if (jieba.FREQ.get(word, 0) > 0 and not (compound and len(word) >= 3)) or word in NOT_NAMES:
            continue
        end = position - 1 if len(word) >= 3 and word[-1] in _NEXT_WORD else position  # "张淑兰称" -> 张淑兰
        # The HMM sometimes leaves a name's last character to the next word ("欧阳明|轩来"): taken back when it
        # is a Han character that does not begin a verb or particle, and the name stays within its usual length.
        after = words[index + 1] if index + 1 < len(words) else ""
        longest = 4 if compound else 3
        if (
            end == position
            and len(word) < longest
            and after[:1]
            and _HAN_WORD_RE.fullmatch(after[:1])
            and after[0] not in _NEXT_WORD
            and (len(after) == 1 or after[1] in _NEXT_WORD)
        ):
            end += 1
        spans.append((start, end, "PERSON"))
    return spans


# jieba frequency from which a name's first two characters after a title are taken for a word: "公司" 45,604, "高速"
# 6,279, "师傅" 1,976; the most frequent first two characters of 2,000 Faker zh_TW names were "王家" (979, 王家豪) and
# "黄家" (800). Compound surnames (欧阳) are names whatever their frequency.
_TITLE_WORD_FREQUENCY = 1000


def _starts_with_word(candidate: str) -> bool:
    """Whether `candidate` (after a title) begins with an everyday word ("公司", "师傅", "高速") or a title ("和主任"),
    so it is no name."""
    if candidate[:2] in COMPOUND_SURNAMES:
        return False
    if segmenter().FREQ.get(candidate[:2], 0) >= _TITLE_WORD_FREQUENCY:
        return True
    return bool(re.match(rf"(?:{TITLE_CUES_BEFORE}|{NAME_CUES_AFTER})", candidate[1:]))


# What a text without a Han character must hold for anything below to match: an 11-digit run, a QQ, WeChat or phone
# word, a Taiwan or Hong Kong ID's shape, a Taiwan mobile's 09, or an international or area-code prefix.
_LATIN_ENTRY_RE = re.compile(
    r"\d{11}|(?i:qq|wechat|weixin|wx|call|phone|tel|mobile|whatsapp)|[A-Z][1289]\d{8}|[A-Z]{1,2}\d{6}|09\d{2}|\+|00\d|\(0"
)


def text_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, entity) of Chinese personal information in `text`."""
    if not HAN_RE.search(text) and not _LATIN_ENTRY_RE.search(text):
        return []  # nothing below can match: no Han character and none of the Latin entries above
    text = simplified(text)  # the same length: its spans are the original's
    spans: list[tuple[int, int, str]] = []
    for pattern, valid, entity in _CHECKED:  # identity numbers and credit codes whose check character holds
        for match in pattern.finditer(text):
            if valid(match.group(0)):
                spans.append((match.start(), match.end(), entity))
    for pattern in (MOBILE_RE, LANDLINE_RE, TW_MOBILE_RE, TW_LANDLINE_RE, HK_PHONE_RE):
        for match in pattern.finditer(text):
            spans.append((match.start(), match.end(), "PHONE_NUMBER"))
    for match in CUED_PHONE_RE.finditer(text):
        spans.append((match.start(1), match.end(1), "PHONE_NUMBER"))
    for match in BANK_CARD_RE.finditer(text):
        digits = re.sub(r"\D", "", match.group(0))
        if 16 <= len(digits) <= 19 and _luhn(digits) and not resident_id_valid(digits):
            spans.append((match.start(), match.end(), "CREDIT_CARD"))
    for match in ACCOUNT_RE.finditer(text):
        spans.append((match.start(1), match.end(1), "BANK_ACCOUNT"))
    for pattern, entity in (
        (PASSPORT_RE, "PASSPORT"),
        (PERMIT_RE, "PASSPORT"),
        (QQ_RE, "CN_QQ"),
        (WECHAT_RE, "CN_WECHAT"),
    ):
        for match in pattern.finditer(text):
            group = 1 if match.re.groups and match.group(1) else 0
            spans.append((match.start(group), match.end(group), entity))
    for match in PLATE_RE.finditer(text):
        spans.append((match.start(), match.end(), "CN_LICENSE_PLATE"))
    for match in ADDRESS_RE.finditer(text):
        lead = _ADDRESS_LEAD_RE.match(match.group(0))
        start = match.start() + (lead.end() if lead else 0)
        if match.end() - start >= 4:
            spans.append((start, match.end(), "ADDRESS"))
    if scripts.KANA_RE.search(text):
        return spans  # Japanese: its names are not Chinese ones ("来店" is no 来 family); `scripts` reads them
    for pattern in (NAME_AFTER_CUE_RE, NAME_BEFORE_TITLE_RE, NAME_AFTER_TITLE_RE):
        for match in pattern.finditer(text):
            start, end = match.start(1), match.end(1)
            name = text[start:end]
            if pattern is NAME_AFTER_TITLE_RE and _starts_with_word(name):
                continue
            if len(name) == 3 and name[2] in _NEXT_WORD:
                end -= 1
                name = name[:2]
            if name not in NOT_NAMES and end - start >= 2:
                spans.append((start, end, "PERSON"))
    if HAN_RE.search(text):
        spans.extend(segmented_names(text, spans))
    return spans


def district_of(address: str) -> str | None:
    """An address generalised to its district (GB/T 37964): "上海市浦东新区张江路88号" -> "上海市浦东新区"."""
    match = re.match(rf"{_ADDRESS_PREFIX}", simplified(address.strip()))
    prefix = address.strip()[: match.end()] if match else ""  # as written: "臺北市信義區" stays Traditional
    return prefix or None


def address_rate(values: list[str]) -> float:
    """Share of values that hold a Chinese street address."""
    return sum(1 for v in values if ADDRESS_RE.search(simplified(v))) / len(values) if values else 0.0


def name_rate(values: list[str]) -> float:
    return sum(map(name_shaped, values)) / len(values) if values else 0.0


def _luhn(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


HEADER_HINTS: list[tuple[str, str, str]] = [
    # (entity, kind, regex searched in the raw header): Chinese export headers
    ("CN_RESIDENT_ID", "direct_identifier", r"身份证|身分证|证件号|公民身份号码"),
    ("PHONE_NUMBER", "direct_identifier", r"手机|电话|联系方式|座机|移动电话|行动电话"),
    ("CREDIT_CARD", "direct_identifier", r"银行卡|卡号|信用卡|借记卡|银行账号|账号"),
    ("PASSPORT", "direct_identifier", r"护照"),
    ("CN_LICENSE_PLATE", "direct_identifier", r"车牌"),
    ("CN_WECHAT", "direct_identifier", r"微信"),
    ("CN_QQ", "direct_identifier", r"QQ|扣扣"),
    ("EMAIL_ADDRESS", "direct_identifier", r"邮箱|电子邮件|电邮"),
    ("ADDRESS", "direct_identifier", r"地址|住址|居住地|户籍地|通讯地"),
    ("DATE_OF_BIRTH", "direct_identifier", r"出生日期|生日|出生年月"),
    ("CN_USCC", "direct_identifier", r"统一社会信用代码|信用代码"),
    ("PERSON", "direct_identifier", r"姓名|名字|联系人|联络人|持卡人|户主|负责人|患者|客户名"),
    ("ZIP_CODE", "quasi_identifier", r"邮编|邮政编码|邮递区号"),
    ("GENDER", "quasi_identifier", r"性别"),
    ("AGE", "quasi_identifier", r"年龄"),
    ("CITY", "quasi_identifier", r"城市|所在市"),
    ("LOCATION", "quasi_identifier", r"省份|地区|民族|籍贯|国籍"),
]
FREE_TEXT_HEADER = re.compile(r"备注|说明|描述|评论|留言|病历|记录|纪录|情况|详情|内容|意见|反馈|回馈|摘要|病史|沟通")
