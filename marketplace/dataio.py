"""Reading uploads and writing exports, Django-free.

Uploads are read in row chunks with every value as a string (None for missing): the scrubber works on text, and
types are inferred afterwards over the whole file, so a column whose 900,000th row is "unknown" does not get a type that
the first chunk suggested. Exports stream from the canonical Parquet in record batches, so memory stays constant
in the file size.
"""

from __future__ import annotations

import codecs
import csv
import datetime
import io
import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from marketplace.job_errors import JobInputError

FORMATS = {"csv": ",", "tsv": "\t", "jsonl": None, "json": None, "parquet": None, "xlsx": None}
EXPORT_FORMATS = ("csv", "parquet", "jsonl")
DISTINCT_CAP = 100_000  # exact distinct counts up to this many values per column, then reported as a lower bound
TOP_VALUES = 5
TOP_KEPT = 50_000  # candidate top values counted per column; past it only the 10,000 most frequent are kept


class ParseError(JobInputError):
    """The upload cannot be read; the message names the line or column a person should look at."""


def format_from_filename(filename: str) -> str | None:
    name = filename.lower()
    for suffix, fmt in (
        (".csv", "csv"),
        (".tsv", "tsv"),
        (".tab", "tsv"),
        (".jsonl", "jsonl"),
        (".ndjson", "jsonl"),
        (".json", "json"),
        (".parquet", "parquet"),
        (".pq", "parquet"),
        (".xlsx", "xlsx"),
        (".xlsm", "xlsx"),
    ):
        if name.endswith(suffix):
            return fmt
    return None


def _as_strings(frame: pd.DataFrame) -> pd.DataFrame:
    """Every column as object dtype holding str, None for missing."""
    out = frame.astype(object)
    return out.where(pd.notna(out), None)


ROW_NAMES = "rownames"  # the name given to the unnamed first column of R's write.csv (its row names)


def _check_header(columns: list[Any], *, row_names: bool = False) -> list[str]:
    """The header's names, checked: every column named, no name twice. With `row_names`, an unnamed first column is
    R's row names (write.csv writes its header as "") and is named ROW_NAMES; any other unnamed column is refused."""
    names = [str(c).strip() for c in columns]
    if row_names and names and names[0] == "":
        names[0] = ROW_NAMES
    for index, name in enumerate(names, start=1):
        if name == "" or name.startswith("Unnamed: "):
            raise ParseError(f"Column {index} has no name in the header row. Give every column a name.")
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ParseError(f"Column name {name!r} appears twice in the header row. Column names must be unique.")
        seen.add(name)
    return names


@dataclass(frozen=True)
class IngestLimits:
    """Bounds on the work one upload may cause, checked while it is read, so that a hostile or broken file fails
    with a message instead of holding a worker for minutes: a single 50 MB cell, a 75 KB Parquet file that expands
    to 20 million rows, or 20,000 columns.

    Rows are bounded relative to the file's size (`max_rows_per_byte`), never below `min_rows_cap`: a CSV or JSONL
    row takes at least two bytes, so only a compressed format comes near the ratio."""

    max_columns: int = 2_000
    max_cell_chars: int = 1_000_000
    max_rows_per_byte: float = 10.0
    min_rows_cap: int = 200_000

    def rows_cap(self, size_bytes: int) -> int:
        return max(self.min_rows_cap, int(size_bytes * self.max_rows_per_byte))


def _handle_size(handle: IO[bytes]) -> int:
    try:
        position = handle.tell()
        size = handle.seek(0, io.SEEK_END)
        handle.seek(position)
        return int(size)
    except (OSError, ValueError, AttributeError):
        return 0


def iter_chunks(
    handle: IO[bytes], fmt: str, chunk_rows: int, limits: IngestLimits | None = None
) -> Iterator[pd.DataFrame]:
    """Yield the upload as DataFrames of at most `chunk_rows` rows, every cell a str or None, within `limits`."""
    limits = limits or IngestLimits()
    rows_cap = limits.rows_cap(_handle_size(handle))
    if fmt in ("csv", "tsv"):
        chunks = _iter_delimited(handle, FORMATS[fmt], chunk_rows, limits)
    elif fmt == "jsonl":
        chunks = _iter_jsonl(handle, chunk_rows, limits)
    elif fmt == "parquet":
        chunks = _iter_parquet(handle, chunk_rows, limits, rows_cap)
    elif fmt == "xlsx":
        chunks = _iter_xlsx(handle, chunk_rows, limits)
    elif fmt == "json":
        chunks = _iter_json(handle, chunk_rows, limits)
    else:
        raise ParseError(f"Unsupported format {fmt!r}. Upload CSV, TSV, JSON, JSONL, Parquet or Excel (.xlsx).")
    rows = 0
    try:
        for chunk in chunks:
            _check_columns(len(chunk.columns), limits)
            _check_cells(chunk, limits, first_row=rows)
            rows += len(chunk)
            if rows > rows_cap:
                raise ParseError(
                    f"The file holds more than {rows_cap:,} rows, too many for its size (at most "
                    f"{limits.max_rows_per_byte:g} rows per byte of upload). Upload it uncompressed or in parts."
                )
            yield chunk
    finally:
        chunks.close()  # now, while the handle is open: its readers let go of it


def _check_columns(count: int, limits: IngestLimits) -> None:
    if count > limits.max_columns:
        raise ParseError(
            f"The file has {count:,} columns; at most {limits.max_columns:,} are accepted. "
            "Split it into several datasets or drop the columns you do not need."
        )


def _check_cells(chunk: pd.DataFrame, limits: IngestLimits, *, first_row: int) -> None:
    for column in chunk.columns:
        lengths = chunk[column].map(lambda v: len(v) if isinstance(v, str) else 0)
        if len(lengths) and (longest := int(lengths.max())) > limits.max_cell_chars:
            row = first_row + int(lengths.to_numpy().argmax()) + 1
            raise ParseError(
                f"Row {row:,}, column {column!r} holds {longest:,} characters; a cell may hold at most "
                f"{limits.max_cell_chars:,}. Shorten it or store long documents in several rows."
            )


SNIFF_BYTES = 1 << 16  # the start of a delimited file that decides its encoding


def _text_encoding(handle: IO[bytes]) -> str:
    """The encoding of a delimited upload: UTF-8 (with or without a byte-order mark), else GB18030 where the start
    of the file reads as Simplified Chinese text in it, else Big5 (code page 950) where it reads as Traditional
    Chinese. Excel on a Chinese Windows saves CSV in the system's code page (GBK, which GB18030 extends, in mainland
    China; Big5 in Taiwan and Hong Kong), and such files were refused as "not valid UTF-8"; a provider had to find
    out how to re-save them. Anything else is read as UTF-8 and refused as before: a Latin-1 "Müller" read as GB18030
    gives rare characters ("M黮ler"), which `_reads_as_chinese` rejects, and Korean in EUC-KR, whose syllables read
    as common Chinese characters in GBK ("김철수" as "辫枚荐"), is told apart first (`_reads_as_korean`)."""
    sample = handle.read(SNIFF_BYTES)
    handle.seek(0)
    whole = len(sample) < SNIFF_BYTES
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=whole)
        return "utf-8-sig"
    except UnicodeDecodeError:
        pass
    if _reads_as_korean(sample, whole):
        return "utf-8-sig"
    for encoding in COMMON_CHARACTERS:
        try:
            text = codecs.getincrementaldecoder(encoding)().decode(sample, final=whole)
        except UnicodeDecodeError:
            continue
        if _reads_as_chinese(text, encoding):
            return encoding
    return "utf-8-sig"


# Each Chinese encoding tried, in order, with the codec and lead bytes of its common characters: GB2312's 3,755
# level-1 characters, Big5's 5,401 frequently used ones.
COMMON_CHARACTERS = {"gb18030": ("gb2312", 0xB0, 0xD7), "cp950": ("cp950", 0xA4, 0xC6)}


def _reads_as_chinese(text: str, encoding: str = "gb18030") -> bool:
    """Nearly every non-ASCII character is a Chinese character or CJK punctuation, and nearly every Chinese
    character is one of the encoding's common ones, as in real Chinese text and not in text of another encoding
    decoded as this one."""
    han = [ch for ch in text if "\u4e00" <= ch <= "\u9fff"]
    punctuation = sum(map(_chinese_punctuation, text))
    other = sum(1 for ch in text if ord(ch) > 127) - len(han) - punctuation
    if not han or other > 0.05 * len(han):
        return False
    codec, low, high = COMMON_CHARACTERS[encoding]

    def common(ch: str) -> bool:
        try:
            return low <= ch.encode(codec)[0] <= high
        except UnicodeEncodeError:
            return False

    return sum(map(common, han)) >= 0.9 * len(han)


def _chinese_punctuation(ch: str) -> bool:
    """CJK punctuation and full-width forms, and what Chinese text takes from general punctuation: the quotes “”,
    the dashes and ellipsis (——, ……), the middle dot of transcribed names (阿卜杜拉·买买提) and ×. Without them, a
    short GBK file with one “·” was refused as not Chinese."""
    return (
        "\u3000" <= ch <= "\u303f" or "\uff00" <= ch <= "\uffef" or "\u2010" <= ch <= "\u206f" or ch in "\u00b7\u00d7"
    )


def _reads_as_korean(sample: bytes, whole: bool) -> bool:
    """The bytes read in EUC-KR (code page 949) as Korean: at least 20 Hangul syllables, and next to nothing else
    that is not ASCII. Real Chinese in GBK or Big5 fails that: in EUC-KR its characters read as Hanja, or as
    bytes that are not EUC-KR at all, once it has more than a few of them."""
    try:
        text = codecs.getincrementaldecoder("cp949")().decode(sample, final=whole)
    except UnicodeDecodeError:
        return False
    hangul = sum(1 for ch in text if "\uac00" <= ch <= "\ud7a3")
    return hangul >= 20 and hangul >= 0.95 * sum(1 for ch in text if ord(ch) > 127)


def _not_decoded(encoding: str, utf8_message: str) -> str:
    """What to say of bytes the file's encoding cannot read: `utf8_message` for UTF-8."""
    if encoding == "gb18030":
        return (
            "The file starts as Chinese text in GB18030 (GBK) but later holds bytes that are not valid in it. "
            "Save it as UTF-8 and upload again."
        )
    if encoding == "cp950":
        return (
            "The file starts as Chinese text in Big5 but later holds bytes that are not valid in it. "
            "Save it as UTF-8 and upload again."
        )
    return utf8_message


def _iter_delimited(handle: IO[bytes], sep: str, chunk_rows: int, limits: IngestLimits) -> Iterator[pd.DataFrame]:
    encoding = _text_encoding(handle)
    # The header is checked here first: pandas would silently rename a duplicate "a" to "a.1".
    text = io.TextIOWrapper(handle, encoding=encoding, errors="strict", newline="")
    try:
        header_line = text.readline()
        if not header_line.strip():
            raise ParseError("The file is empty: expected a header row followed by data rows.")
        header = next(csv.reader([header_line], delimiter=sep))
        _check_columns(len(header), limits)
        names = _check_header(header, row_names=True)
    except UnicodeDecodeError as exc:
        raise ParseError(
            _not_decoded(encoding, "The header row is not valid UTF-8. Save the file as UTF-8 and upload again.")
        ) from exc
    finally:
        text.detach()
    handle.seek(0)
    text = io.TextIOWrapper(handle, encoding=encoding, errors="strict", newline="")
    try:
        reader = pd.read_csv(
            text,
            sep=sep,
            header=0,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            chunksize=chunk_rows,
            engine="c",
            on_bad_lines="error",
            skip_blank_lines=True,
        )
        seen_rows = False
        for chunk in reader:
            if not isinstance(chunk.index, pd.RangeIndex):
                # pandas reads a first data row with one field too many as "the first column is the index".
                raise ParseError(
                    f"Line 2 has more fields than the header ({len(chunk.columns)}). "
                    "Check for an unquoted delimiter or a missing header name."
                )
            if chunk.empty:
                continue
            seen_rows = True
            columns = [str(c).strip() for c in chunk.columns]
            if names[:1] == [ROW_NAMES] and columns[0].startswith("Unnamed: "):
                columns[0] = ROW_NAMES  # R's row names, which pandas calls "Unnamed: 0"
            chunk.columns = columns
            yield _as_strings(chunk)
        if not seen_rows:
            raise ParseError("The file has a header row but no data rows.")
    except pd.errors.EmptyDataError as exc:
        raise ParseError("The file has a header row but no data rows.") from exc
    except pd.errors.ParserError as exc:
        detail = str(exc).replace("Error tokenizing data. C error: ", "")
        match = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", detail)
        if match:
            expected, line, saw = match.groups()
            raise ParseError(
                f"Line {line} has {saw} fields but the header has {expected}. "
                "Check for an unquoted delimiter or a missing value on that line."
            ) from exc
        raise ParseError(f"The file could not be parsed: {detail}") from exc
    except UnicodeDecodeError as exc:
        raise ParseError(
            _not_decoded(
                encoding,
                f"The file is not valid UTF-8 (byte {exc.start} of a read block). Save it as UTF-8 and upload again.",
            )
        ) from exc
    finally:
        text.detach()


def _json_cell(value: Any) -> str | None:
    """A nested or scalar cell (JSONL, or a Parquet object column) as text: lists and records as JSON, as a JSONL
    upload writes them. A Parquet list arrives as a numpy array, whose own text ("['x' 'y']") is no format anyone
    reads, and a record holding one could not be written at all."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=_json_default)
    return str(value)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return str(value)  # dates, decimals, bytes: as their text


def _jsonl_records(handle: IO[bytes]) -> Iterator[dict[str, Any]]:
    """The objects of a JSON Lines file, one per non-blank line; errors name the line and column."""
    for line_number, raw in enumerate(handle, start=1):
        try:
            line = raw.decode("utf-8-sig" if line_number == 1 else "utf-8").strip()
        except UnicodeDecodeError as exc:
            raise ParseError(
                f"Line {line_number} is not valid UTF-8. Save the file as UTF-8 and upload again."
            ) from exc
        if not line:
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ParseError(f"Line {line_number}, column {exc.colno}: invalid JSON ({exc.msg}).") from exc
        if not isinstance(record, dict):
            raise ParseError(f"Line {line_number}: expected a JSON object per line, got {type(record).__name__}.")
        yield record


def _iter_jsonl(handle: IO[bytes], chunk_rows: int, limits: IngestLimits) -> Iterator[pd.DataFrame]:
    """Two passes: the union of every line's keys first, then chunks that all carry every column. Keys first seen
    late in the file used to vanish, because the columns were fixed by the first chunk."""
    columns: dict[str, None] = {}
    for record in _jsonl_records(handle):
        for key in record:
            columns.setdefault(str(key), None)
        _check_columns(len(columns), limits)
    if not columns:
        raise ParseError("The file is empty: expected one JSON object per line.")
    handle.seek(0)
    rows: list[dict[str, str | None]] = []
    for record in _jsonl_records(handle):
        rows.append({str(k): _json_cell(v) for k, v in record.items()})
        if len(rows) >= chunk_rows:
            yield pd.DataFrame.from_records(rows, columns=list(columns)).astype(object).replace({np.nan: None})
            rows = []
    if rows:
        yield pd.DataFrame.from_records(rows, columns=list(columns)).astype(object).replace({np.nan: None})


def _next_line(handle: IO[bytes]) -> bytes:
    """The next non-blank line, stripped, read no further than JSON_MAX_BYTES (a document on one line of a
    gigabyte is not read whole to find where its first line ends); b"" at the end."""
    while raw := handle.readline(JSON_MAX_BYTES):
        if line := raw.strip():
            return line
    return b""


def _records_inside(document: dict) -> list | None:
    """The one list of objects an object holds ({"data": [...], "count": 2}), or None when it holds none or several
    (a record's own list of tags is no list of records)."""
    arrays = [v for v in document.values() if isinstance(v, list) and v and all(isinstance(x, dict) for x in v)]
    return arrays[0] if len(arrays) == 1 else None


JSON_MAX_BYTES = 64_000_000  # a JSON document is parsed whole (several times its size in memory); JSON Lines streams


def _iter_json(handle: IO[bytes], chunk_rows: int, limits: IngestLimits) -> Iterator[pd.DataFrame]:
    """A .json file: JSON Lines under another name (one object per line, streamed), or one document, an array of
    objects or an object holding one array of them ({"data": [...]}, as APIs answer), read whole up to
    JSON_MAX_BYTES. Nested values become JSON text, as in JSON Lines."""
    first_line = _next_line(handle).lstrip(b"\xef\xbb\xbf")
    more_lines = bool(_next_line(handle))
    handle.seek(0)
    try:
        first = json.loads(first_line)
    except (json.JSONDecodeError, UnicodeDecodeError):
        first = None
    # One object per line, unless the file is one line holding one list of objects (an API answer on one line)
    one_object_per_line = isinstance(first, dict) and (more_lines or _records_inside(first) is None)
    if one_object_per_line:
        yield from _iter_jsonl(handle, chunk_rows, limits)
        return
    size = _handle_size(handle)
    if size > JSON_MAX_BYTES:
        raise ParseError(
            f"A JSON file is read whole, and this one is {size / 1e6:,.0f} MB (at most {JSON_MAX_BYTES / 1e6:,.0f} "
            "MB). Save it as JSON Lines (.jsonl), one object per line."
        )
    try:
        document = json.loads(handle.read().decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise ParseError("The file is not valid UTF-8. Save it as UTF-8 and upload again.") from exc
    except json.JSONDecodeError as exc:
        raise ParseError(f"Line {exc.lineno}, column {exc.colno}: invalid JSON ({exc.msg}).") from exc
    if isinstance(document, dict):
        document = _records_inside(document)
    if not isinstance(document, list):
        raise ParseError("Expected a list of JSON objects, or an object holding one list of them.")
    columns: dict[str, None] = {}
    for number, record in enumerate(document, start=1):
        if not isinstance(record, dict):
            raise ParseError(f"Item {number}: expected a JSON object, got {type(record).__name__}.")
        for key in record:
            columns.setdefault(str(key), None)
        _check_columns(len(columns), limits)
    if not columns:
        raise ParseError("The file is empty: expected a list of JSON objects.")
    for start in range(0, len(document), chunk_rows):
        rows = [{str(k): _json_cell(v) for k, v in record.items()} for record in document[start : start + chunk_rows]]
        yield pd.DataFrame.from_records(rows, columns=list(columns)).astype(object).replace({np.nan: None})


def _iter_parquet(handle: IO[bytes], chunk_rows: int, limits: IngestLimits, rows_cap: int) -> Iterator[pd.DataFrame]:
    try:
        parquet = pq.ParquetFile(handle)
    except (pa.ArrowInvalid, OSError) as exc:
        raise ParseError(f"The file is not a readable Parquet file: {exc}") from exc
    _check_columns(len(parquet.schema_arrow.names), limits)
    names = _check_header(parquet.schema_arrow.names)
    if parquet.metadata.num_rows == 0:
        raise ParseError("The Parquet file has no rows.")
    if parquet.metadata.num_rows > rows_cap:  # known from the footer: refused before a single row is expanded
        raise ParseError(
            f"The Parquet file declares {parquet.metadata.num_rows:,} rows, too many for its size: at most "
            f"{rows_cap:,} ({limits.max_rows_per_byte:g} rows per byte of upload). Upload it in parts."
        )
    for batch in parquet.iter_batches(batch_size=chunk_rows):
        frame = batch.to_pandas()
        frame.columns = names
        for column in frame.columns:
            series = frame[column]
            if pd.api.types.is_bool_dtype(series):
                frame[column] = series.map(lambda v: None if v is None or v is pd.NA else ("true" if v else "false"))
            elif not pd.api.types.is_object_dtype(series):
                frame[column] = (
                    series.astype(object).where(series.notna(), None).map(lambda v: None if v is None else str(v))
                )
            else:
                frame[column] = series.map(_json_cell)
        yield _as_strings(frame)


def _excel_cell(value: Any) -> str | None:
    """A workbook cell as the text a CSV export of it would hold: whole numbers without ".0", dates in ISO form
    (without a time of midnight), booleans as true/false."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat(sep=" ")
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    text = str(value)
    return text if text.strip() else None


# A workbook's XML compresses about tenfold; a zip bomb (a few kilobytes that expand to gigabytes, read into memory
# by the XML parser before any row limit applies) expands a thousandfold.
XLSX_MAX_EXPANSION = 100
XLSX_EXPANSION_ALLOWANCE = 50_000_000


def _has_values(sheet: Any, rows: int = 50) -> bool:
    """Whether a worksheet has a value in its first `rows` rows (read-only sheets are read row by row)."""
    for index, row in enumerate(sheet.iter_rows(values_only=True)):
        if any(cell is not None for cell in row):
            return True
        if index >= rows:
            return False
    return False


def _iter_xlsx(handle: IO[bytes], chunk_rows: int, limits: IngestLimits) -> Iterator[pd.DataFrame]:
    """The worksheet of an Excel workbook that holds data, streamed (openpyxl's read-only mode; formulas as their
    last computed values); a workbook with data on several worksheets is refused, not read in part. The first
    non-empty row is the header; empty rows are skipped, as a CSV export drops them."""
    import zipfile

    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    unreadable = "The file is not a readable Excel workbook (.xlsx). Older .xls files: save them as .xlsx or CSV first."
    try:
        with zipfile.ZipFile(handle) as archive:
            expanded = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ParseError(unreadable) from exc
    handle.seek(0)
    if expanded > XLSX_MAX_EXPANSION * max(_handle_size(handle), 1) + XLSX_EXPANSION_ALLOWANCE:
        raise ParseError(
            f"The workbook expands to {expanded / 1e6:,.0f} MB from {_handle_size(handle) / 1e6:,.1f} MB, more "
            "than a spreadsheet does. Save it as CSV, or upload it in parts."
        )
    try:
        book = load_workbook(handle, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise ParseError(unreadable) from exc
    try:
        if not book.worksheets:
            raise ParseError("The workbook has no worksheet.")
        filled = [sheet.title for sheet in book.worksheets if _has_values(sheet)]
        if len(filled) > 1:  # reading the first alone would lose the others without a word
            raise ParseError(
                f"The workbook has data on {len(filled)} worksheets ({', '.join(filled)}). Upload one worksheet "
                "per file, or move the data onto the first worksheet."
            )
        sheet = next((s for s in book.worksheets if s.title in filled), book.worksheets[0])
        rows = (row for row in sheet.iter_rows(values_only=True) if any(c is not None for c in row))
        header = next(rows, None)
        if header is None:
            raise ParseError("The worksheets of the workbook are empty.")
        width = max(index for index, cell in enumerate(header, start=1) if cell is not None)
        _check_columns(width, limits)
        names = _check_header([_excel_cell(cell) or "" for cell in header[:width]])
        records: list[list[str | None]] = []
        for number, row in enumerate(rows, start=2):
            if any(cell is not None for cell in row[width:]):
                raise ParseError(
                    f"Row {number} has a value beyond the last named column ({width}). Give every column a name."
                )
            records.append([_excel_cell(cell) for cell in row[:width]] + [None] * max(0, width - len(row)))
            if len(records) >= chunk_rows:
                yield pd.DataFrame(records, columns=names, dtype=object)
                records = []
        if records:
            yield pd.DataFrame(records, columns=names, dtype=object)
    finally:
        book.close()


# --- Type inference and profiling -------------------------------------------------------------------------------

_INT = re.compile(r"^[+-]?\d{1,18}$")
# At most three exponent digits: a double ends near 1e308, and a longer exponent (a hex code such as 81e3104049863b72
# holds one) is no measurement. pandas 2.3 crashed the process casting such a value, and 2.2 (pinned in pyproject)
# reads 4e492493924924 as 0, so such a column stays text.
_FLOAT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d{1,3})?$|^[+-]?(inf|nan)$", re.IGNORECASE)
_BOOL = {"true", "false"}
# Cells that statistics packages and spreadsheets write for a missing value (R: NA; Excel: #N/A; SQL exports: NULL).
MISSING_TOKENS = frozenset({"NA", "N/A", "n/a", "na", "#N/A", "NULL", "null", "None", "NaN", "nan", "-", "—", "?"})
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$")


@dataclass
class TypeInference:
    """Narrows each column's possible type chunk by chunk: int -> float -> string, bool, datetime. A cell written as
    a missing value (`MISSING_TOKENS`: R's "NA", Excel's "#N/A", "n/a", "NULL", ...) does not make a column of
    numbers (dates, booleans) text: it is a missing value there. A column with no other values stays text, as does
    every text column: "NA" among country codes is Namibia."""

    candidates: dict[str, set[str]] = field(default_factory=dict)
    typed_values: Counter = field(default_factory=Counter)  # per column: present values that are not such tokens

    def update(self, chunk: pd.DataFrame) -> None:
        for column in chunk.columns:
            possible = self.candidates.setdefault(column, {"integer", "float", "boolean", "datetime"})
            if not possible:
                continue
            values = chunk[column].dropna().astype(str)
            values = values[~values.str.strip().isin(MISSING_TOKENS)]
            self.typed_values[column] += len(values)
            if values.empty:
                continue
            if "integer" in possible and not values.str.fullmatch(_INT).all():
                possible.discard("integer")
            if "float" in possible and not values.str.fullmatch(_FLOAT).all():
                possible.discard("float")
            if "boolean" in possible and not values.str.lower().isin(_BOOL).all():
                possible.discard("boolean")
            if "datetime" in possible and not values.str.fullmatch(_DATE).all():
                possible.discard("datetime")

    def types(self) -> dict[str, str]:
        resolved = {}
        for column, possible in self.candidates.items():
            if not self.typed_values[column]:
                possible = set()  # empty, or missing-value tokens only: text, as written
            for kind in ("integer", "float", "boolean", "datetime"):
                if kind in possible:
                    resolved[column] = kind
                    break
            else:
                resolved[column] = "string"
        return resolved


def cast_chunk(chunk: pd.DataFrame, types: dict[str, str]) -> pd.DataFrame:
    """Cast a string chunk to the inferred types (nullable dtypes, so missing values stay missing)."""
    out = {}
    for column in chunk.columns:
        series = chunk[column]
        kind = types.get(column, "string")
        if kind != "string":
            series = series.where(~series.astype(str).str.strip().isin(MISSING_TOKENS), None)
        if kind == "integer":
            out[column] = pd.to_numeric(series, errors="raise").astype("Int64")
        elif kind == "float":
            out[column] = pd.to_numeric(series, errors="raise").astype("Float64")
        elif kind == "boolean":
            out[column] = series.map(lambda v: None if v is None else str(v).lower() == "true").astype("boolean")
        elif kind == "datetime":
            out[column] = pd.to_datetime(series, format="ISO8601", utc=True)
        else:
            out[column] = series.astype("string")
    return pd.DataFrame(out, index=chunk.index)


def coerce_frame(frame: pd.DataFrame, types: dict[str, str]) -> pd.DataFrame:
    """A typed frame (a synthesizer's output) in the canonical dtypes of `types`, without a trip through strings:
    integers that came out as floats are rounded, missing values stay missing, unknown columns become strings."""
    out = {}
    for column in frame.columns:
        series = frame[column]
        kind = types.get(column, "string")
        if kind == "integer":
            out[column] = pd.to_numeric(series, errors="raise").round().astype("Int64")
        elif kind == "float":
            out[column] = pd.to_numeric(series, errors="raise").astype("Float64")
        elif kind == "boolean":
            out[column] = series.astype("boolean")
        elif kind == "datetime":
            out[column] = pd.to_datetime(series, utc=True)
        else:
            out[column] = series.astype("string")
    return pd.DataFrame(out, index=frame.index)


def arrow_schema(types: dict[str, str], columns: list[str]) -> pa.Schema:
    mapping = {
        "integer": pa.int64(),
        "float": pa.float64(),
        "boolean": pa.bool_(),
        "datetime": pa.timestamp("us", tz="UTC"),
        "string": pa.string(),
    }
    return pa.schema([(name, mapping[types.get(name, "string")]) for name in columns])


@dataclass
class ColumnProfiler:
    """Streams per-column statistics: nulls, distinct values (exact up to DISTINCT_CAP), min/max/mean, top values."""

    types: dict[str, str]
    rows: int = 0
    nulls: Counter = field(default_factory=Counter)
    distinct: dict[str, set] = field(default_factory=dict)
    distinct_capped: set[str] = field(default_factory=set)
    minimum: dict[str, Any] = field(default_factory=dict)
    maximum: dict[str, Any] = field(default_factory=dict)
    sums: Counter = field(default_factory=Counter)
    counts: Counter = field(default_factory=Counter)
    top: dict[str, Counter] = field(default_factory=dict)

    def update(self, chunk: pd.DataFrame) -> None:
        self.rows += len(chunk)
        for column in chunk.columns:
            series = chunk[column]
            present = series.dropna()
            self.nulls[column] += int(len(series) - len(present))
            kind = self.types.get(column, "string")
            if column not in self.distinct_capped:
                values = self.distinct.setdefault(column, set())
                values.update(present.unique().tolist())
                if len(values) > DISTINCT_CAP:
                    self.distinct_capped.add(column)
                    self.distinct[column] = set()
            if present.empty:
                continue
            if kind in ("integer", "float", "datetime"):
                low, high = present.min(), present.max()
                self.minimum[column] = low if column not in self.minimum else min(self.minimum[column], low)
                self.maximum[column] = high if column not in self.maximum else max(self.maximum[column], high)
                if kind != "datetime":
                    self.sums[column] += float(present.sum())
                    self.counts[column] += int(len(present))
            if kind in ("string", "boolean"):
                top = self.top.setdefault(column, Counter())
                top.update(present.astype(str).value_counts().head(1000).to_dict())
                if len(top) > TOP_KEPT:  # near-unique columns would hold a value per row: keep the leaders only
                    self.top[column] = Counter(dict(top.most_common(TOP_KEPT // 5)))

    def profile(self) -> list[dict[str, Any]]:
        columns = []
        for column, kind in self.types.items():
            entry: dict[str, Any] = {
                "name": column,
                "type": kind,
                "nulls": int(self.nulls[column]),
                "null_fraction": round(self.nulls[column] / self.rows, 6) if self.rows else 0.0,
            }
            if column in self.distinct_capped:
                entry["distinct"] = DISTINCT_CAP
                entry["distinct_is_lower_bound"] = True
            else:
                entry["distinct"] = len(self.distinct.get(column, ()))
            if column in self.minimum:
                entry["min"] = _jsonable(self.minimum[column])
                entry["max"] = _jsonable(self.maximum[column])
            if self.counts[column]:
                entry["mean"] = round(self.sums[column] / self.counts[column], 6)
            if column in self.top:
                entry["top_values"] = [
                    {"value": value, "count": int(count)} for value, count in self.top[column].most_common(TOP_VALUES)
                ]
            columns.append(entry)
        return columns


def _jsonable(value: Any) -> Any:
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


def preview_rows(frame: pd.DataFrame, limit: int = 20) -> dict[str, Any]:
    head = frame.head(limit)
    rows = [[_preview_cell(v) for v in row] for row in head.itertuples(index=False, name=None)]
    return {"columns": list(head.columns), "rows": rows}


def _preview_cell(value: Any) -> Any:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    if value is pd.NaT:
        return None
    return value if isinstance(value, str | bool | int | float) else _jsonable(value)


# --- Exports ------------------------------------------------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(value: str) -> str:
    """Prefix cells that a spreadsheet would run as a formula (OWASP CSV injection) with a quote, including those
    whose formula character follows leading whitespace (" =1+3": spreadsheets trim it)."""
    stripped = value.lstrip(" \t\r\n\x0b\x0c") if value else value
    if stripped and (value.startswith(_FORMULA_START) or stripped.startswith(_FORMULA_START)):
        # Plain negative numbers are data, not formulas.
        if stripped[0] in "+-" and _FLOAT.fullmatch(stripped):
            return value
        return "'" + value
    return value


def csv_writer(handle: IO[str], delimiter: str = ","):
    """The one CSV/TSV writer of every export: RFC 4180 line ends, so a cell holding a carriage return or a newline
    is quoted (with "\n" as the line end, an embedded "\r" went out unquoted and readers saw a new row)."""
    return csv.writer(handle, delimiter=delimiter, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)


def export_stream(handle: IO[bytes], fmt: str, batch_rows: int = 10_000) -> Iterator[bytes]:
    """Yield the canonical Parquet as CSV, JSONL or Parquet bytes, one record batch at a time."""
    if fmt == "parquet":
        while block := handle.read(1 << 20):
            yield block
        return
    parquet = pq.ParquetFile(handle)
    names = parquet.schema_arrow.names
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv_writer(buffer)
        writer.writerow([neutralise_formula(n) for n in names])
        yield buffer.getvalue().encode()
    for batch in parquet.iter_batches(batch_size=batch_rows):
        frame = batch.to_pandas()
        buffer = io.StringIO()
        if fmt == "csv":
            writer = csv_writer(buffer)
            for row in frame.itertuples(index=False, name=None):
                writer.writerow([_csv_cell(v) for v in row])
        elif fmt == "jsonl":
            for row in frame.itertuples(index=False, name=None):
                record = {name: _preview_cell(value) for name, value in zip(names, row, strict=True)}
                buffer.write(json.dumps(record, ensure_ascii=False, default=str))
                buffer.write("\n")
        else:
            raise ValueError(f"Unsupported export format {fmt!r}")
        yield buffer.getvalue().encode()


def _csv_cell(value: Any) -> str:
    value = _preview_cell(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return neutralise_formula(str(value))
