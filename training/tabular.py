"""Tabular classification model: scrubbed columns -> standardised numbers and one-hot categories -> a small MLP."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
import torch
from transformers.modeling_outputs import SequenceClassifierOutput

from marketplace.dataio import MISSING_TOKENS
from marketplace.job_errors import JobInputError
from synthesis.formats import number_format, parse_number

MAX_CATEGORIES = 50  # most frequent values one-hot encoded per categorical column; rarer values encode as all zeros


@dataclass(frozen=True)
class TabularEncoder:
    """Column transforms fitted on the training rows only (never on evaluation rows), saved next to the weights."""

    numeric: dict[str, tuple[float, float]]  # column -> (mean, standard deviation) of the training rows
    categorical: dict[str, list[str]]  # column -> values that get a one-hot slot
    # Numeric columns that are dates or times, as days since 1970-01-01. As categories, each date was a one-hot slot
    # of its own (the 50 most frequent), and a date the model had not seen in training matched none.
    dates: tuple[str, ...] = ()

    @classmethod
    def fit(cls, frame: pd.DataFrame, columns: list[str]) -> TabularEncoder:
        numeric, categorical, dates = {}, {}, []
        for column in columns:
            values = frame[column]
            written = number_format(values)  # "$48,210", "12%": amounts a provider kept as written
            if pd.api.types.is_datetime64_any_dtype(values):
                dates.append(column)
            if (
                pd.api.types.is_bool_dtype(values)
                or pd.api.types.is_numeric_dtype(values)
                or written is not None
                or column in dates
            ):
                as_float = pd.Series(column_values(values, column, column in dates), dtype=float)
                mean = float(as_float.mean()) if as_float.notna().any() else 0.0
                std = float(as_float.std(ddof=0)) if as_float.notna().sum() > 1 else 0.0
                numeric[column] = (mean, std if std > 0 else 1.0)
            else:
                top = values.dropna().astype(str).value_counts().index[:MAX_CATEGORIES]
                categorical[column] = sorted(top)
        if not numeric and not categorical:
            raise JobInputError("Tabular classification needs at least one feature column besides the label.")
        return cls(numeric, categorical, tuple(dates))

    @property
    def width(self) -> int:
        return len(self.numeric) + sum(len(values) for values in self.categorical.values())

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """float32 features, shape (rows, width); missing numbers become the training mean (0 after scaling). A
        number column's values may come as numbers, booleans or their text ("3", "true"); "NA", "n/a", "" and the
        like are missing (see `numbers`)."""
        blocks = []
        for column, (mean, std) in self.numeric.items():
            values = self.values(frame[column], column) if column in frame else np.full(len(frame), mean)
            blocks.append(((np.nan_to_num(values, nan=mean) - mean) / std)[:, None])
        for column, known in self.categorical.items():
            values = frame[column].astype(str).to_numpy() if column in frame else np.full(len(frame), "")
            blocks.append((values[:, None] == np.array(known, dtype=object)[None, :]).astype(np.float32))
        return np.concatenate(blocks, axis=1).astype(np.float32)

    def values(self, values: pd.Series, column: str) -> np.ndarray:
        """A numeric column's values as floats (days since 1970 for a date column); raises NotANumber."""
        return column_values(values, column, column in self.dates)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, payload: dict) -> TabularEncoder:
        numeric = {k: tuple(v) for k, v in payload["numeric"].items()}
        return cls(numeric, payload["categorical"], tuple(payload.get("dates", ())))  # models saved before dates


class NotANumber(ValueError):
    """A number (or date) column's value that is text but no number (or date): which column, row (from 1) and value."""

    def __init__(self, column: str, row: int, value: object, kind: str = "number") -> None:
        super().__init__(f"Row {row}: {column} is {value!r}, not a {kind}.")
        self.column, self.row, self.value, self.kind = column, row, value, kind


def _missing(value: object) -> bool:
    """None, pd.NA, NaN or NaT: a value JSON or a typed column holds for "no value"."""
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and np.isnan(value))


def column_values(values: pd.Series, column: str, is_date: bool) -> np.ndarray:
    return days(values, column) if is_date else numbers(values, column)


def days(values: pd.Series, column: str) -> np.ndarray:
    """A date column's values as days since 1970-01-01 (UTC for times with a zone), NaN where missing. The
    training rows come typed; predict's rows as JSON text ("2024-01-05", "2024-01-05T10:00:00Z"), and text that
    is no date raises NotANumber."""
    if pd.api.types.is_datetime64_any_dtype(values):
        stamps = values.dt.tz_convert("UTC").dt.tz_localize(None) if values.dt.tz is not None else values
        return (stamps.astype("datetime64[ns]").astype("int64").where(stamps.notna()) / 86_400e9).to_numpy(float)
    out = np.full(len(values), np.nan)
    for row, value in enumerate(values.tolist()):
        if _missing(value) or (isinstance(value, str) and value.strip() in ("", *MISSING_TOKENS)):
            continue
        if isinstance(value, bool | int | float | np.number):  # a bare number is no date: seconds, days or a year?
            raise NotANumber(column, row + 1, value, "date")
        try:
            stamp = pd.Timestamp(value)
        except (ValueError, TypeError):
            raise NotANumber(column, row + 1, value, "date") from None
        if stamp.tzinfo is not None:
            stamp = stamp.tz_convert("UTC").tz_localize(None)
        out[row] = stamp.value / 86_400e9
    return out


def numbers(values: pd.Series, column: str) -> np.ndarray:
    """A number column's values as floats, NaN where missing. Predict takes rows as JSON, so a caller may send 3,
    "3", "$3.00", true or "NA"; any other text raises NotANumber (predict used to fail with Python's "could not convert
    string to float")."""
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
        # The training rows, typed by ingest (Int64, Float64, boolean, with pd.NA where missing).
        return values.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    out = np.full(len(values), np.nan)
    for row, value in enumerate(values.tolist()):
        if _missing(value):
            continue
        if isinstance(value, bool | np.bool_):
            out[row] = float(value)
            continue
        if isinstance(value, int | float | np.number):
            out[row] = float(value)
            continue
        text = str(value).strip()
        if not text or text in MISSING_TOKENS:  # as uploads are read: R's NA, Excel's #N/A, ...
            continue
        if text.lower() in ("true", "false"):
            out[row] = float(text.lower() == "true")
            continue
        try:
            out[row] = float(text)
        except ValueError:
            written = parse_number(text)  # "$1,500", "3%": as the provider's column writes its amounts
            if written is None:
                raise NotANumber(column, row + 1, value) from None
            out[row] = written
    return out


class TabularMLP(torch.nn.Module):
    """Two hidden layers with GELU and dropout; returns the same output type as a transformers classifier."""

    def __init__(self, inputs: int, hidden: int, num_labels: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.layers = torch.nn.Sequential(
            torch.nn.Linear(inputs, hidden),
            torch.nn.GELU(),
            torch.nn.Dropout(dropout),
            torch.nn.Linear(hidden, hidden),
            torch.nn.GELU(),
            torch.nn.Dropout(dropout),
            torch.nn.Linear(hidden, num_labels),
        )

    def forward(self, features: torch.Tensor, labels: torch.Tensor | None = None) -> SequenceClassifierOutput:
        logits = self.layers(features)
        loss = torch.nn.functional.cross_entropy(logits, labels) if labels is not None else None
        return SequenceClassifierOutput(loss=loss, logits=logits)


def feature_columns(frame: pd.DataFrame, label_column: str) -> list[str]:
    """Every column except the label and bookkeeping columns (leading underscore)."""
    return [c for c in frame.columns if c != label_column and not str(c).startswith("_")]
