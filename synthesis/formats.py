"""Numbers written as text ("$1,250.00", "12%", "¥3,000", "45 kg"): read as numbers for synthesis, written back alike.

A provider's CSV often keeps money, rates and measures with their symbol and thousands separators, so the column
arrives as text. Left as text, such a column (its values nearly all differ) is a key to the synthesizers, and was
delivered as "syn-0000005": the amounts were lost, and with them every relation and trend they carried. Read as
numbers, they are modelled like any other number; the delivered rows write them back with the column's own symbol,
separators and decimals.

What is recognised: every present value is one optional sign, one prefix and one suffix shared by the whole column,
digits with or without "," between groups of three, and an optional "." decimal part. The prefix is a currency sign
or code ("$", "US$", "¥", "RMB"); the suffix a currency sign, "%", a unit of up to five letters (" kg") or up to
three Chinese characters ("元"). Letters before the digits are a code's ("SKU1001", "ID-2041"): such a column stays
text, and a key. At least one value must carry a prefix, a suffix or a separator: a column of
bare digit strings is an identifier or a code (a postcode "02139" keeps its leading zero) and is left as text, as is
any column with a digit string that starts with a 0 before more digits. A "," as the decimal mark ("1.234,50 €") is not
recognised; such a column stays text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

_NUMBER = re.compile(
    r"^\s*(?P<sign1>[-+]?)(?P<prefix>(?:[^\d\s+\-.,]+\s*)?)(?P<sign2>[-+]?)"
    r"(?P<digits>\d{1,3}(?:,\d{3})+|\d+)(?P<fraction>\.\d+)?(?P<suffix>\s*[^\d\s.,][^\d]*?)?\s*$"
)
MIN_VALUES = 5  # fewer present values than this: too little to tell a format from chance


@dataclass(frozen=True)
class NumberFormat:
    prefix: str  # e.g. "$"
    suffix: str  # e.g. "%" or " kg", with its leading space
    grouped: bool  # thousands written with ","
    decimals: int  # digits after "." (the most any real value has)

    def write(self, value: float) -> str | None:
        if value is None or not np.isfinite(value):
            return None
        number = f"{abs(value):,.{self.decimals}f}" if self.grouped else f"{abs(value):.{self.decimals}f}"
        sign = "-" if value < 0 and float(number.replace(",", "")) != 0 else ""
        return f"{sign}{self.prefix}{number}{self.suffix}"


def number_format(series: pd.Series) -> NumberFormat | None:
    """The format shared by every present value of a text column, or None when it is not such a column."""
    if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        return None
    if pd.api.types.is_datetime64_any_dtype(series):
        return None
    present = series.dropna()
    if len(present) < MIN_VALUES or not all(isinstance(v, str) for v in present):
        return None
    prefixes, suffixes, grouped, decimals = set(), set(), False, 0
    for value in present.unique():
        match = _NUMBER.match(value)
        if match is None or (match["sign1"] and match["sign2"]):
            return None
        digits = match["digits"]
        if len(digits) > 1 and digits[0] == "0" and "," not in digits:
            return None  # a code with a leading zero
        prefixes.add(match["prefix"])
        suffixes.add(match["suffix"] or "")
        grouped = grouped or "," in digits
        decimals = max(decimals, len(match["fraction"] or ".") - 1)
    if len(prefixes) != 1 or len(suffixes) != 1:
        return None
    prefix, suffix = prefixes.pop(), suffixes.pop()
    if not (prefix or suffix.strip() or grouped):
        return None  # bare digits as text: a code, not a quantity
    if prefix and not _CURRENCY.fullmatch(prefix.strip()):
        return None  # "SKU1001", "ID-2041": a code's letters, not a currency: the column stays a key
    if suffix.strip() and not _UNIT.fullmatch(suffix.strip()):
        return None
    return NumberFormat(prefix=prefix, suffix=suffix, grouped=grouped, decimals=decimals)


# What may stand before the number: a currency sign, alone or after a country's letters ("$", "US$", "HK$", "R$",
# "¥", "€"), or a currency code ("USD", "RMB", "CNY", "EUR"). Letters alone ("SKU", "ID") are a code's.
_CURRENCY = re.compile(r"[A-Za-z]{0,3}[$€£¥₹₩₽¢]|USD|EUR|GBP|JPY|CNY|RMB|HKD|TWD|SGD|AUD|CAD|CHF|INR|KRW")
# What may stand after it: a currency sign or code, a percent or per-mille sign, a unit of up to five letters
# ("kg", "km", "ms", "pcs"), or up to three Chinese characters ("元", "万元", "个").
_UNIT = re.compile(r"[$€£¥₹₩₽¢%‰]|[A-Za-z]{1,5}\.?|[\u4e00-\u9fff]{1,3}")


def read_numbers(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, NumberFormat]]:
    """`frame` with each column of numbers written as text read as floats, and each such column's format."""
    formats = {name: fmt for name in frame.columns if (fmt := number_format(frame[name])) is not None}
    if not formats:
        return frame, {}
    out = frame.copy()
    for name in formats:
        out[name] = out[name].map(_value, na_action="ignore").astype(float)
    return out, formats


def write_numbers(frame: pd.DataFrame, formats: dict[str, NumberFormat]) -> pd.DataFrame:
    """`frame` with the columns of `formats` written back as text in their formats (missing values stay missing)."""
    if not formats:
        return frame
    out = frame.copy()
    for name, fmt in formats.items():
        if name in out:
            written = [fmt.write(float(v)) if pd.notna(v) else None for v in out[name]]
            out[name] = pd.Series(written, index=out.index, dtype=object)
    return out


def parse_number(text: str) -> float | None:
    """One value written as a number in a format this module recognises ("$1,500", "3%", "45 kg", "1,200元"), or
    None: the reading a column's values get, for a value that comes alone (a row sent to predict). A code's letters
    ("SKU1001") are no prefix, as in `number_format`."""
    match = _NUMBER.match(text)
    if match is None or (match["sign1"] and match["sign2"]):
        return None
    prefix, suffix = match["prefix"].strip(), (match["suffix"] or "").strip()
    if (prefix and not _CURRENCY.fullmatch(prefix)) or (suffix and not _UNIT.fullmatch(suffix)):
        return None
    return _value(text)


def _value(text: str) -> float:
    match = _NUMBER.match(text)
    number = float(match["digits"].replace(",", "") + (match["fraction"] or ""))
    return -number if "-" in (match["sign1"], match["sign2"]) else number
