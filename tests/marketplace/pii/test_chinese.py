"""Chinese personal information in columns and text: validators with valid and corrupted check characters, names
with and without cue words, Chinese headers, and surrogates that follow GB/T 37964's usual transforms."""

import pandas as pd
import pytest

from marketplace.pii import ScrubPolicy, chinese, scrub
from marketplace.pii.classify import classify_column
from marketplace.pii.operators import apply

ID = "11010519491231002" + chinese.resident_id_check_char("11010519491231002")
USCC = "91350100M000100Y4" + chinese.uscc_check_char("91350100M000100Y4")


def _corrupt(value: str) -> str:
    last = value[-1]
    return value[:-1] + ("0" if last != "0" else "1")


def test_resident_identity_numbers_are_checked_by_region_birth_date_and_check_character():
    assert ID == "11010519491231002X" and chinese.resident_id_valid(ID)
    assert not chinese.resident_id_valid(_corrupt(ID))
    assert not chinese.resident_id_valid("99010519491231002X")  # no such province
    assert not chinese.resident_id_valid("110105194913310021")  # month 13
    assert chinese.resident_id_valid("110105491231002")  # the old 15-digit form


def test_unified_social_credit_codes_are_checked_modulo_31():
    assert chinese.uscc_valid(USCC) and not chinese.uscc_valid(_corrupt(USCC))


@pytest.mark.parametrize(
    ("value", "valid"),
    [("13812345678", True), ("+86 138-1234-5678", True), ("008613812345678", True), ("12812345678", False),
     ("010-62345678", True), ("0755 8765 4321", False)],
)  # fmt: skip
def test_mobile_and_landline_numbers(value, valid):
    assert chinese.phone_valid(value) is valid


@pytest.mark.parametrize(
    ("note", "secrets", "kept"),
    [
        ("患者张伟称其母亲王秀英会陪同。", ["张伟", "王秀英"], ["称其母亲", "会陪同"]),
        ("李明先生的妻子联系过我们。", ["李明"], ["先生的妻子联系过我们"]),
        (f"电话13812345678，身份证{ID}，卡号6222021234567890128。", ["13812345678", ID, "6222021234567890128"], []),
        ("家住广东省深圳市南山区科技园路1号3栋。", ["科技园路1号"], ["家住"]),
        ("微信号 zhouhong_88，QQ 123456789，车牌京A12345。", ["zhouhong_88", "123456789", "京A12345"], []),
        ("客户 Mr. Li Ming 说 his daughter Emma 会来。", ["Li Ming", "Emma"], ["会来"]),
    ],
)
def test_chinese_identifiers_in_text_are_found_with_digits_glued_to_characters(note, secrets, kept):
    out, _ = scrub(pd.DataFrame({"备注": [note] * 3}))
    cell = out.at[0, "备注"]
    assert all(secret not in cell for secret in secrets), cell
    assert all(words in cell for words in kept), cell


def test_everyday_words_that_start_with_a_surname_character_are_kept():
    notes = ["明天下午高兴地完成了安全检查，时间方便的话周一再来。"] * 3
    out, _ = scrub(pd.DataFrame({"备注": notes}))
    assert out["备注"].tolist() == notes


def test_names_from_a_name_column_are_found_again_in_the_notes_without_cue_words():
    table = pd.DataFrame(
        {"客户": ["赵丽颖", "孙悦", "钱多多"] * 10, "备注": ["今天赵丽颖来过", "孙悦打电话确认", "钱多多没有来"] * 10},
        dtype=object,
    )
    out, report = scrub(table, salt=b"s")
    column = next(c for c in report.columns if c["name"] == "客户")
    assert (column["kind"], column["entities"]) == ("direct_identifier", ["PERSON"])
    assert not any(name in note for name in ("赵丽颖", "孙悦", "钱多多") for note in out["备注"])
    assert "没有来" in out.at[2, "备注"]


@pytest.mark.parametrize(
    ("header", "entity"),
    [("姓名", "PERSON"), ("身份证号", "CN_RESIDENT_ID"), ("手机号", "PHONE_NUMBER"), ("联系电话", "PHONE_NUMBER"),
     ("家庭住址", "ADDRESS"), ("出生日期", "DATE_OF_BIRTH"), ("银行卡号", "CREDIT_CARD")],
)  # fmt: skip
def test_chinese_headers_name_their_entity(header, entity):
    assert classify_column(header, pd.Series(["x"] * 3, dtype=object)).entity == entity


def test_chinese_surrogates_masks_and_generalisations():
    assert apply("mask", "13812345678", salt=b"s", entity="PHONE_NUMBER") == "138****5678"
    assert apply("mask", "+86 138-1234-5678", salt=b"s", entity="PHONE_NUMBER") == "+86 138****5678"
    fake = apply("replace", "欧阳娜娜", salt=b"s", entity="PERSON")
    assert fake == apply("replace", "欧阳娜娜", salt=b"s", entity="PERSON") and not set(fake) & set("欧阳娜娜")
    assert chinese.HAN_RE.search(fake)
    surrogate = apply("replace", ID, salt=b"s", entity="CN_RESIDENT_ID")
    assert surrogate != ID and surrogate[:10] == ID[:10] and chinese.resident_id_valid(surrogate)
    assert apply("generalize", ID, salt=b"s", entity="CN_RESIDENT_ID") == "110105-1949"
    address = "广东省深圳市南山区科技园路1号3栋"
    assert apply("generalize", address, salt=b"s", entity="ADDRESS") == "广东省深圳市南山区"


def test_a_chinese_table_is_scrubbed_column_by_column():
    table = pd.DataFrame(
        {
            "姓名": ["张伟", "欧阳娜娜", "李明"],
            "身份证号": [ID] * 3,
            "手机号": ["13812345678", "13912345678", "15012345678"],
            "金额": ["100.5", "200", "300"],
        },
        dtype=object,
    )
    out, report = scrub(table, ScrubPolicy(entities={"PHONE_NUMBER": "mask"}), salt=b"s")
    assert out["手机号"].tolist() == ["138****5678", "139****5678", "150****5678"]
    assert ID not in out["身份证号"].tolist() and not set(out["姓名"]) & {"张伟", "欧阳娜娜", "李明"}
    assert out["金额"].tolist() == ["100.5", "200", "300"] and report.publishable


def test_wechat_and_qq_ids_are_found_in_text_without_chinese_characters():
    out, _ = scrub(pd.DataFrame({"notes": ["Add me on WeChat: zhang_wei88 or QQ 123456789 after work."] * 3}))
    cell = out.at[0, "notes"]
    assert "zhang_wei88" not in cell and "123456789" not in cell and "after work" in cell


@pytest.mark.parametrize(
    ("note", "names"),
    [
        ("梁鑫昨天来电说安排下午复查，李欣陪同。", ["梁鑫", "李欣"]),
        ("今天曹英和同事一起去了医院。", ["曹英"]),
        ("张淑兰称明天来缴费。", ["张淑兰"]),
        ("据欧阳明轩反映，药已经吃完了。", ["欧阳明轩"]),
    ],
)
def test_names_that_no_cue_announces_are_found_by_word_segmentation(note, names):
    """Names on no list and after no cue word: jieba joins the characters of a name it has never seen into one new
    word, which starts with a surname."""
    from marketplace.pii import chinese

    assert [note[start:end] for start, end, entity in chinese.text_spans(note) if entity == "PERSON"] == names


@pytest.mark.parametrize(
    "note",
    [
        "王府井附近的高兴饭店明天开门。",
        "请于周三下午三点到门诊复查血常规，费用已缴。",
        "血压偏高，建议低盐饮食，按时服用二甲双胍。",
        "安排下周一上午做胃镜，术前禁食八小时。",
        "孟买和洛杉矶的分公司已经开始营业。",
    ],
)
def test_segmentation_leaves_sentences_without_names_as_they_are(note):
    from marketplace.pii import chinese

    assert [note[s:e] for s, e, entity in chinese.text_spans(note) if entity == "PERSON"] == []


def test_known_values_that_share_a_first_character_are_found_in_text_whatever_their_length():
    """Phrases are tried from a known first word only as far as the longest value starting with it: a surname
    character that starts both a two-character name and a long address finds both, and a text without them nothing."""
    from marketplace.pii.text import KnownIdentifiers

    known = KnownIdentifiers()
    known.add("张伟", "PERSON")
    known.add("张家口市桥东区胜利北路12号", "ADDRESS")
    known.add("+86 138 1234 5678", "PHONE_NUMBER")
    text = "患者张伟住在张家口市桥东区胜利北路12号，电话+86 138 1234 5678。张先生明天复查。"
    spans = known.spans(text)
    assert {text[s.start : s.end] for s in spans} >= {"张伟", "张家口市桥东区胜利北路12号", "+86 138 1234 5678"}
    assert known.spans("张先生明天复查。") == []


def test_traditional_chinese_notes_lose_their_names_as_simplified_ones_do():
    """Taiwan and Hong Kong write Traditional characters: the surnames, cue words and headers are written in
    Simplified ones, and 110 of 120 Traditional notes kept their names ("客戶陳大文來電"). Names from Faker's zh_TW
    locale, which nothing in the engine reads."""
    from faker import Faker

    fake = Faker("zh_TW")
    Faker.seed(7)
    names = [fake.name() for _ in range(40)]
    templates = ["客戶{}來電詢問帳單，已處理", "{}先生表示不滿意", "經理{}核准退款", "請轉告{}小姐明天回電"]
    notes = [templates[i % len(templates)].format(name) for i, name in enumerate(names)]
    out, _ = scrub(pd.DataFrame({"紀錄": notes, "編號": range(len(notes))}), salt=b"s")
    leaked = [(name, note) for name, note in zip(names, out["紀錄"], strict=True) if name in note]
    assert not leaked
    assert all("來電詢問帳單" in note for note in out["紀錄"][::4])  # the words around them are kept as written


@pytest.mark.parametrize(
    ("header", "entity"),
    [("姓名", "PERSON"), ("身分證字號", "CN_RESIDENT_ID"), ("聯絡電話", "PHONE_NUMBER"), ("行動電話", "PHONE_NUMBER"),
     ("聯絡人", "PERSON"), ("通訊地址", "ADDRESS"), ("郵遞區號", "ZIP_CODE")],
)  # fmt: skip
def test_traditional_chinese_headers_name_their_entity(header, entity):
    assert classify_column(header, pd.Series(["x"] * 3, dtype=object)).entity == entity


def test_traditional_addresses_are_scrubbed_and_generalised_to_their_district_as_written():
    places = ["臺北市信義區松仁路", "高雄市前鎮區中華五路", "臺中市西屯區臺灣大道三段", "新北市板橋區文化路一段"]
    values = [f"{places[i % 4]}{i + 1}號" + ("之一" if i % 3 else "") for i in range(30)]
    out, _ = scrub(pd.DataFrame({"地點": values}), salt=b"s")
    assert not any(place in cell for place in places for cell in out["地點"])
    assert apply("generalize", values[0], salt=b"s", entity="ADDRESS") == "臺北市信義區"


def test_a_title_before_a_name_announces_it_but_not_an_everyday_word():
    assert [(s, e) for s, e, _ in chinese.text_spans("经理叶倩文核准退款")] == [(2, 5)]
    for sentence in ["本公司聘请顾问公司处理", "司机高速上超速", "经理和主任都在"]:
        assert chinese.text_spans(sentence) == [], sentence


def test_a_traditional_name_is_replaced_by_a_fake_in_traditional_characters_sharing_none_of_its_own():
    for name in ("陳大文", "賴淑美", "蕭子翔", "劉德華"):
        fake = apply("replace", name, salt=b"s", entity="PERSON")
        assert chinese.traditional(fake) == fake, fake  # written in Traditional characters
        assert not set(chinese.simplified(fake)) & set(chinese.simplified(name)), (name, fake)
    assert chinese.simplified(apply("replace", "陈大文", salt=b"s", entity="PERSON")) == apply(
        "replace", "陈大文", salt=b"s", entity="PERSON"
    )  # Simplified stays Simplified


def _tw_id(rng) -> str:
    codes = dict(zip("ABCDEFGHJKLMNPQRSTUVXYWZIO", range(10, 36), strict=True))
    letter, digits = rng.choice(sorted(codes)), rng.choice("12") + "".join(rng.choice("0123456789") for _ in range(7))
    code = codes[letter]
    total = code // 10 + 9 * (code % 10) + sum(int(d) * w for d, w in zip(digits, range(8, 0, -1), strict=True))
    return f"{letter}{digits}{(10 - total % 10) % 10}"


def _hk_id(rng) -> str:
    letter, digits = rng.choice("ACDEGHKPRVYZ"), "".join(rng.choice("0123456789") for _ in range(6))
    total = 36 * 9 + (ord(letter) - 55) * 8 + sum(int(d) * w for d, w in zip(digits, range(7, 1, -1), strict=True))
    check = (11 - total % 11) % 11
    return f"{letter}{digits}({'A' if check == 10 else check})"


def test_taiwan_and_hong_kong_identity_numbers_are_checked_and_found_in_notes():
    """Both leaked from every note (120 of 120), even after "ID no.", and were hashed only where a column of them
    happened to look like a code column."""
    import random

    assert chinese.tw_id_valid("A123456789") and not chinese.tw_id_valid("A123456788")  # the published examples
    assert (
        chinese.hk_id_valid("A123456(3)")
        and chinese.hk_id_valid("G123456(A)")
        and not chinese.hk_id_valid("A123456(4)")
    )
    rng = random.Random(3)
    ids = [_tw_id(rng) for _ in range(30)] + [_hk_id(rng) for _ in range(30)]
    templates = [
        "客戶來電，身分證字號{}，已核對",
        "補件：證號 {} 影本",
        "ID {} checked at the counter",
        "申請人{}資料不全",
    ]
    notes = [templates[i % len(templates)].format(x) + "。" * (i % 3) for i, x in enumerate(ids)]
    out, _ = scrub(pd.DataFrame({"紀錄": notes, "n": range(len(notes))}), salt=b"s")
    assert not [note for note in out["紀錄"] if any(x in note for x in ids)]
    wrong = "訂單 A123456788 已出貨，貨號 B12345678"  # a wrong check digit, and no ID's shape: kept
    assert chinese.text_spans(wrong) == []
    decision = classify_column("證件", pd.Series([_tw_id(rng) for _ in range(20)], dtype=object))
    assert (decision.kind, decision.entity) == ("direct_identifier", "NATIONAL_ID")


def test_verification_reports_identity_numbers_left_in_a_kept_column():
    """The independent re-scan is Presidio's recognizers, which know no Chinese, Taiwan or Hong Kong identity
    number: a column kept as it was with them in it was reported clean and publishable."""
    import random

    rng = random.Random(5)
    notes = [f"客户{i}号证件 {ID if i % 2 else _tw_id(rng)} 已核对" for i in range(40)]
    _, report = scrub(pd.DataFrame({"notes": notes}), ScrubPolicy(columns={"notes": "keep"}), salt=b"s")
    assert report.residual["by_column"].get("notes:CN_RESIDENT_ID") and report.residual["by_column"].get(
        "notes:NATIONAL_ID"
    )
    assert not report.publishable


def test_taiwan_and_hong_kong_phone_numbers_leave_notes_and_amounts_stay():
    """All 80 leaked (a mainland mobile is 1[3-9]x, a Taiwan one 09xx, a Hong Kong one eight digits), and "備註"
    (Taiwan's "remarks") was no notes header: its column was kept as safe."""
    import random

    rng = random.Random(11)
    taiwan = [f"09{rng.randrange(100):02d}{rng.randrange(10**6):06d}" for _ in range(10)]
    phones = taiwan + [f"{t[:4]}-{t[4:7]}-{t[7:]}" for t in taiwan] + ["(02)2345-6789", "+886 2 2345 6789"]
    hong_kong = [f"{rng.choice('569')}{rng.randrange(1000):03d} {rng.randrange(10000):04d}" for _ in range(10)]
    phones += hong_kong + ["+852 " + h for h in hong_kong]
    templates = [
        "請回撥{}，謝謝",
        "客戶手機{}已更新",
        "聯絡方式：{}（晚上）",
        "他說打{}找他",
        "call back on {} tonight",
    ]
    notes = [templates[i % len(templates)].format(p) for i, p in enumerate(phones)]
    out, _ = scrub(pd.DataFrame({"備註": notes}), salt=b"s")
    assert not [n for p, n in zip(phones, out["備註"], strict=True) if p.replace(" ", "") in n.replace(" ", "")]
    for kept in ["訂單金額 12345678 元", "2024年12月31日 共 3500 件", "發票號碼 AB-12345678", "打了 2 次 1234 5678"]:
        assert chinese.text_spans(kept) == [], kept


@pytest.mark.parametrize(
    "note", ["住址：九龍旺角彌敦道123號5樓", "寄到香港中環皇后大道中99號", "新界沙田大圍村南道8號", "灣仔軒尼詩道302號"]
)
def test_hong_kong_addresses_on_a_road_named_dao_are_found(note):
    assert [entity for _, _, entity in chinese.text_spans(note)] == ["ADDRESS"]


def test_dao_in_everyday_words_makes_no_address():
    assert chinese.text_spans("我知道3號會到") == [] and chinese.text_spans("频道5号") == []


@pytest.mark.parametrize(
    ("note", "secret", "entity"),
    [
        ("港澳通行证C12345678已过期", "C12345678", "PASSPORT"),
        ("台胞证 87654321 已核对", "87654321", "PASSPORT"),
        ("收款账号6222021234567890123", "6222021234567890123", "BANK_ACCOUNT"),  # fails Luhn: no card, an account
        ("账户：1234 5678 9012 3456 789，请转账", "1234 5678 9012 3456 789", "BANK_ACCOUNT"),
    ],
)
def test_travel_permits_and_accounts_after_their_names_are_found(note, secret, entity):
    assert [(note[s:e], kind) for s, e, kind in chinese.text_spans(note)] == [(secret, entity)]


def test_an_account_word_before_an_amount_or_a_card_suffix_finds_nothing():
    assert chinese.text_spans("账户余额 12345678 元") == [] and chinese.text_spans("卡号后四位1234") == []


@pytest.mark.parametrize(
    ("note", "name"),
    [("今天劉聰明來電詢問", "劉聰明"), ("孙婷婷的订单已出货", "孙婷婷"), ("請通知江靜宜明天回電", "江靜宜")],
)
def test_a_name_whose_given_name_is_a_word_is_found_without_a_cue(note, name):
    """jieba cuts such a name in two ("刘|聪明", "孙|婷婷"), and no rule took the lone surname with the word after it:
    a fifth of Faker's zh_CN names and a third of its zh_TW names stayed in notes without a cue word."""
    start = note.index(name)
    assert (start, start + len(name), "PERSON") in chinese.text_spans(note)


@pytest.mark.parametrize("note", ["桌上放着一张桌子布", "我和朋友周末去了公园", "请在单元格里填写"])
def test_a_surname_character_used_as_a_word_makes_no_name(note):
    assert [kind for _, _, kind in chinese.text_spans(note) if kind == "PERSON"] == []
