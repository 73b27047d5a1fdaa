import io
import re

import pandas as pd
import pytest

from marketplace.dataio import ParseError, TypeInference, cast_chunk, export_stream, iter_chunks, neutralise_formula


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("=SUM(A1:A2)", "'=SUM(A1:A2)"),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("@HYPERLINK(x)", "'@HYPERLINK(x)"),
        ("-2+3", "'-2+3"),
        ("\tx", "'\tx"),
        ("-12.5", "-12.5"),
        ("+44", "+44"),
        ("plain", "plain"),
        ("", ""),
        (" =1+3", "' =1+3"),  # spreadsheets trim the space and run the rest
        ("\n@SUM(1+1)", "'\n@SUM(1+1)"),
        (" -12.5", " -12.5"),
    ],
)
def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised(cell, expected):
    assert neutralise_formula(cell) == expected


def test_csv_export_neutralises_formulas_in_headers_and_cells():
    buffer = io.BytesIO()
    pd.DataFrame({"=x": ["=1+1", "ok"], "n": [-1, 2]}).to_parquet(buffer, index=False)
    buffer.seek(0)
    text = b"".join(export_stream(buffer, "csv")).decode()
    assert text == "'=x,n\r\n'=1+1,-1\r\nok,2\r\n"


def test_a_cell_with_an_embedded_carriage_return_stays_one_quoted_cell_in_the_csv_export():
    import csv

    buffer = io.BytesIO()
    cell = "x\r@SUM(1+1)*cmd|' /C calc'!A0"
    pd.DataFrame({"note": [cell, " =1+3"]}).to_parquet(buffer, index=False)
    buffer.seek(0)
    text = b"".join(export_stream(buffer, "csv")).decode()

    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows == [["note"], [cell], ["' =1+3"]]
    assert f'"{cell}"' in text  # quoted: the carriage return is inside the cell, not a row break


def test_type_inference_narrows_across_chunks():
    inference = TypeInference()
    inference.update(
        pd.DataFrame({"a": ["1", "2"], "b": ["1.5", None], "c": ["2020-01-01", "2021-02-03"]}, dtype=object)
    )
    inference.update(
        pd.DataFrame({"a": ["x", "3"], "b": ["2", "1e3"], "c": ["2022-12-31T10:00:00Z", None]}, dtype=object)
    )
    assert inference.types() == {"a": "string", "b": "float", "c": "datetime"}


def test_missing_value_tokens_leave_a_column_of_numbers_numeric_and_text_as_written():
    """R writes NA, Excel #N/A, a UCI table "?": such a cell made the whole column text, so every column of an
    R-exported CSV with a gap was listed, profiled and synthesized as categories."""
    first = pd.DataFrame(
        {"n": ["12", "NA"], "x": ["1.5", "#N/A"], "when": ["2024-01-02", "n/a"], "country": ["NA", "NZ"]},
        dtype=object,
    )
    second = pd.DataFrame({"n": ["?", "7"], "x": ["-", "2"], "when": [None, "2024-03-01"], "country": ["NA", None]})
    inference = TypeInference()
    inference.update(first)
    inference.update(second)
    only_tokens = TypeInference()
    only_tokens.update(pd.DataFrame({"code": ["NA", "NA", None]}, dtype=object))

    types = inference.types()
    assert types == {"n": "integer", "x": "float", "when": "datetime", "country": "string"}
    assert only_tokens.types() == {"code": "string"}  # nothing but "NA": Namibia, not a gap
    cast = cast_chunk(first, types)
    assert cast["n"].tolist()[0] == 12 and cast["n"].isna().tolist() == [False, True]
    assert cast["x"].isna().tolist() == [False, True] and cast["when"].isna().tolist() == [False, True]
    assert cast["country"].tolist() == ["NA", "NZ"]


def test_chunks_are_strings_with_none_for_missing():
    chunks = list(iter_chunks(io.BytesIO(b"a,b\n1,\n2,x\n3,y\n"), "csv", 2))
    assert [len(c) for c in chunks] == [2, 1]
    assert chunks[0].to_dict(orient="records") == [{"a": "1", "b": None}, {"a": "2", "b": "x"}]


CHINESE_ROWS = "城市,性别,月收入,备注\n北京,男,12000,老客户，按时付款\n上海,女,9800,\n广州,男,15000,新客户\n"


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8", "utf-8-sig"])
def test_a_chinese_csv_saved_by_excel_in_gbk_is_read_like_utf_8(encoding):
    """Excel on a Chinese Windows saves CSV in GBK; such files were refused as "not valid UTF-8"."""
    expected = pd.read_csv(io.StringIO(CHINESE_ROWS), dtype=str, keep_default_na=False, na_values=[""])

    chunks = list(iter_chunks(io.BytesIO(CHINESE_ROWS.encode(encoding)), "csv", 10))

    assert chunks[0].astype(object).where(chunks[0].notna(), None).to_dict("records") == expected.astype(object).where(
        expected.notna(), None
    ).to_dict("records")


KOREAN_ROWS = (
    "이름,도시,메모\n김철수,서울,오래된 고객입니다\n이영희,부산,새로운 고객입니다\n박민수,대구,정시에 결제합니다\n"
)
TRADITIONAL_ROWS = "城市,性別,月收入,備註\n臺北,男,52000,老客戶，準時付款\n高雄,女,43800,\n香港,男,61000,新客戶\n"


def test_a_traditional_chinese_csv_saved_by_excel_in_big5_is_read_like_utf_8():
    """Excel on a Traditional Chinese Windows (Taiwan, Hong Kong) saves CSV in Big5 (code page 950); such files were
    refused as "not valid UTF-8", as GBK ones were."""
    expected = pd.read_csv(io.StringIO(TRADITIONAL_ROWS), dtype=str, keep_default_na=False, na_values=[""])

    chunks = list(iter_chunks(io.BytesIO(TRADITIONAL_ROWS.encode("cp950")), "csv", 10))

    assert chunks[0].astype(object).where(chunks[0].notna(), None).to_dict("records") == expected.astype(object).where(
        expected.notna(), None
    ).to_dict("records")
    # Simplified Chinese in GBK is still read as GBK, not as Big5, short and with a transcribed name's middle dot too.
    assert list(iter_chunks(io.BytesIO(CHINESE_ROWS.encode("gbk")), "csv", 10))[0]["城市"].tolist()[0] == "北京"
    short = "姓名,城市\n阿卜杜拉·买买提,乌鲁木齐\n".encode("gbk")
    assert list(iter_chunks(io.BytesIO(short), "csv", 10))[0]["姓名"].tolist() == ["阿卜杜拉·买买提"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("name,city\nMüller,Köln\nSchröder,Düsseldorf\n".encode("cp1252"), "not valid UTF-8"),
        ("名前,都市\n田中,東京\n".encode("shift_jis"), "not valid UTF-8"),
        ("名前,都市,備考\n田中,東京,新しい顧客\n鈴木,大阪,古い顧客\n".encode("shift_jis"), "not valid UTF-8"),
        (KOREAN_ROWS.encode("euc-kr"), "not valid UTF-8"),
        (
            TRADITIONAL_ROWS.encode("cp950") + "臺北,男,1,\n".encode("cp950") * 20_000 + b"\xff\xff,1,2,3\n",
            "Big5 but later",
        ),
        (
            CHINESE_ROWS.encode("gbk") + "北京,男,1,\n".encode("gbk") * 20_000 + b"\xff\xff,1,2,3\n",
            "GB18030 (GBK) but later",
        ),
    ],
)
def test_text_in_another_encoding_is_refused_not_read_as_chinese(content, message):
    """Latin-1 and Shift-JIS text decodes as GB18030 too, into rare characters ("M黮ler"): it is refused, as is a
    GBK or Big5 file whose later bytes are not valid in it. Korean in EUC-KR decoded as GBK into common Chinese
    characters ("김철수" as "辫枚荐") and was read as such: it is refused too."""
    with pytest.raises(ParseError, match=re.escape(message)):
        list(iter_chunks(io.BytesIO(content), "csv", 10))


def test_parquet_lists_and_records_are_read_as_json_like_jsonl():
    """A Parquet list arrived as numpy's text ("['x' 'y']"), and a record holding a list failed the upload with
    "Object of type ndarray is not JSON serializable"."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "tags": pa.array([["x", "y"], [], None]),
            "visit": pa.array([{"codes": [1, 2], "ward": "b"}, {"codes": [], "ward": None}, None]),
        }
    )
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    buffer.seek(0)

    rows = list(iter_chunks(buffer, "parquet", 10))[0].to_dict("records")

    assert rows == [
        {"tags": '["x", "y"]', "visit": '{"codes": [1, 2], "ward": "b"}'},
        {"tags": "[]", "visit": '{"codes": [], "ward": null}'},
        {"tags": None, "visit": None},
    ]


def test_empty_file_is_a_parse_error():
    with pytest.raises(ParseError, match="The file is empty"):
        list(iter_chunks(io.BytesIO(b""), "csv", 10))


# --- Resource limits: a hostile file fails with a message instead of holding a worker ----------------------------

from marketplace.dataio import IngestLimits  # noqa: E402


def test_a_cell_over_the_size_limit_is_refused_naming_its_row_and_column():
    content = b"id,note\n1,short\n2," + b"x" * 5_000 + b"\n"
    with pytest.raises(ParseError, match=r"Row 2, column 'note' holds 5,000 characters"):
        list(iter_chunks(io.BytesIO(content), "csv", 10, IngestLimits(max_cell_chars=4_000)))
    assert len(list(iter_chunks(io.BytesIO(content), "csv", 10, IngestLimits(max_cell_chars=5_000)))) == 1


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_too_many_columns_are_refused_before_any_row_is_read(fmt):
    frame = pd.DataFrame([[1] * 30], columns=[f"c{i}" for i in range(30)])
    if fmt == "csv":
        content = frame.to_csv(index=False).encode()
    elif fmt == "jsonl":
        content = frame.to_json(orient="records", lines=True).encode()
    else:
        content = frame.to_parquet(index=False)
    with pytest.raises(ParseError, match="has 30 columns; at most 20"):
        list(iter_chunks(io.BytesIO(content), fmt, 10, IngestLimits(max_columns=20)))


def test_a_parquet_file_that_expands_to_far_more_rows_than_its_size_allows_is_refused_from_its_footer():
    content = pd.DataFrame({"flag": [1] * 300_000}).to_parquet(index=False)  # a few KB: run-length encoded
    assert len(content) < 20_000
    limits = IngestLimits(max_rows_per_byte=10.0, min_rows_cap=1_000)
    with pytest.raises(ParseError, match="declares 300,000 rows, too many for its size"):
        next(iter_chunks(io.BytesIO(content), "parquet", 10_000, limits))
    # The same rows holding real values take real bytes, and are read whole.
    ordinary = pd.DataFrame({"id": range(300_000)}).to_parquet(index=False)
    assert sum(len(c) for c in iter_chunks(io.BytesIO(ordinary), "parquet", 100_000, limits)) == 300_000


def test_rows_beyond_the_cap_stop_a_text_file_too():
    content = b"a\n" + b"1\n" * 500
    with pytest.raises(ParseError, match="more than 200 rows"):
        list(iter_chunks(io.BytesIO(content), "csv", 100, IngestLimits(max_rows_per_byte=0.1, min_rows_cap=200)))


def test_the_profiler_keeps_the_top_values_of_a_near_unique_column_without_a_counter_per_row(monkeypatch):
    """A column of distinct strings (scrubbed e-mails, notes) would give its top-values counter a key per row; past
    TOP_KEPT candidates only the most frequent are kept, and the real leaders are still reported."""
    from marketplace import dataio

    monkeypatch.setattr(dataio, "TOP_KEPT", 500)
    profiler = dataio.ColumnProfiler(types={"email": "string"})
    for chunk in range(20):
        values = [f"user{chunk}-{i}@example.org" for i in range(200)] + ["shared@example.org"] * 7
        profiler.update(pd.DataFrame({"email": values}))
        assert len(profiler.top["email"]) <= 500
    (column,) = profiler.profile()
    assert column["top_values"][0] == {"value": "shared@example.org", "count": 140}


def _workbook(rows: list[list]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_an_excel_workbook_is_read_as_its_csv_export_would_be():
    import datetime

    content = _workbook(
        [
            ["客户姓名", "手机", "amount", "joined", "active", "score"],
            ["张伟", "13812345678", 1500, datetime.datetime(2024, 3, 1), True, 0.25],  # noqa: DTZ001 (Excel has no zones)
            [None, None, None, None, None, None],  # an empty row: dropped, as a CSV export drops it
            ["李娜", 13987654321, 20.0, datetime.datetime(2024, 3, 2, 14, 30), False, None],  # noqa: DTZ001
        ]
    )
    (frame,) = list(iter_chunks(io.BytesIO(content), "xlsx", 100))
    assert list(frame.columns) == ["客户姓名", "手机", "amount", "joined", "active", "score"]
    assert frame.to_dict("records") == [
        {
            "客户姓名": "张伟",
            "手机": "13812345678",
            "amount": "1500",
            "joined": "2024-03-01",
            "active": "true",
            "score": "0.25",
        },
        {
            "客户姓名": "李娜",
            "手机": "13987654321",
            "amount": "20",
            "joined": "2024-03-02 14:30:00",
            "active": "false",
            "score": None,
        },
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"PK\x03\x04 not really a workbook", "not a readable Excel workbook"),
        (b"\xd0\xcf\x11\xe0 an old .xls file", "save them as .xlsx or CSV"),
        ("empty", "The worksheets of the workbook are empty"),
        ("beyond", "Row 3 has a value beyond the last named column (2)"),
        ("unnamed", "Column 2 has no name"),
    ],
)
def test_a_workbook_that_cannot_be_read_gets_a_clear_error(content, message):
    workbooks = {
        "empty": [],
        "beyond": [["a", "b"], [1, 2], [3, 4, 5]],
        "unnamed": [["a", None, "c"], [1, 2, 3]],
    }
    data = _workbook(workbooks[content]) if isinstance(content, str) else content
    with pytest.raises(ParseError, match=re.escape(message)):
        list(iter_chunks(io.BytesIO(data), "xlsx", 100))


def test_a_workbook_that_expands_a_thousandfold_is_refused_before_it_is_parsed():
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/sharedStrings.xml", "<sst>" + "A" * 80_000_000 + "</sst>")  # 80 MB of one letter
    assert len(buffer.getvalue()) < 200_000
    with pytest.raises(ParseError, match="expands to 80 MB"):
        list(iter_chunks(io.BytesIO(buffer.getvalue()), "xlsx", 100))


def test_a_workbook_with_data_on_two_worksheets_is_refused_not_read_in_part():
    from openpyxl import Workbook

    book = Workbook()
    book.active.title = "2024"
    book.active.append(["name", "amount"])
    book.active.append(["Ann", 3])
    second = book.create_sheet("2025")
    second.append(["name", "amount"])
    second.append(["Bo", 4])
    book.create_sheet("notes")  # an empty sheet is no data
    buffer = io.BytesIO()
    book.save(buffer)
    with pytest.raises(ParseError, match=re.escape("data on 2 worksheets (2024, 2025)")):
        list(iter_chunks(io.BytesIO(buffer.getvalue()), "xlsx", 100))


def test_the_one_worksheet_with_data_is_read_wherever_it_stands():
    from openpyxl import Workbook

    book = Workbook()
    book.active.title = "cover"
    data = book.create_sheet("data")
    data.append(["name", "amount"])
    data.append(["Ann", 3])
    buffer = io.BytesIO()
    book.save(buffer)
    (frame,) = list(iter_chunks(io.BytesIO(buffer.getvalue()), "xlsx", 100))
    assert frame.to_dict("records") == [{"name": "Ann", "amount": "3"}]


@pytest.mark.parametrize(
    "content",
    [
        '[{"name": "Ann", "tags": ["a", "b"]}, {"name": "Bo", "age": 41}]',
        '{"data": [{"name": "Ann", "tags": ["a", "b"]}, {"name": "Bo", "age": 41}], "count": 2}',
        '[\n  {\n    "name": "Ann",\n    "tags": ["a", "b"]\n  },\n  {"name": "Bo", "age": 41}\n]\n',
        '{"name": "Ann", "tags": ["a", "b"]}\n{"name": "Bo", "age": 41}\n',  # JSON Lines saved as .json
    ],
    ids=["array", "api-answer", "pretty", "json-lines"],
)
def test_a_json_file_is_read_as_its_records(content):
    (frame,) = list(iter_chunks(io.BytesIO(content.encode()), "json", 100))
    assert frame.to_dict("records") == [
        {"name": "Ann", "tags": '["a", "b"]', "age": None},
        {"name": "Bo", "tags": None, "age": "41"},
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'[{"a": 1}, 2]', "Item 2: expected a JSON object, got int."),
        (b'{\n "a": [1],\n "b": [2]\n}', "Expected a list of JSON objects, or an object holding one list of them."),
        (b'[{"a": 1},\n {"a": }]', "Line 2, column 8: invalid JSON"),
        (b"[]", "The file is empty: expected a list of JSON objects."),
        (b'["\xff"]', "The file is not valid UTF-8."),
    ],
)
def test_a_json_file_that_is_no_list_of_objects_gets_a_clear_error(content, message):
    with pytest.raises(ParseError, match=re.escape(message)):
        list(iter_chunks(io.BytesIO(content), "json", 100))


def test_a_json_document_too_large_to_read_whole_is_refused_with_the_way_out(monkeypatch):
    import marketplace.dataio as dataio

    monkeypatch.setattr(dataio, "JSON_MAX_BYTES", 10)
    with pytest.raises(ParseError, match=r"Save it as JSON Lines \(\.jsonl\)"):
        list(iter_chunks(io.BytesIO(b'[{"a": 1}, {"a": 2}]'), "json", 100))


def test_a_one_line_json_file_of_one_record_with_a_list_is_that_record():
    (frame,) = list(iter_chunks(io.BytesIO(b'{"name": "Ann", "tags": ["a", "b"]}'), "json", 100))
    assert frame.to_dict("records") == [{"name": "Ann", "tags": '["a", "b"]'}]
