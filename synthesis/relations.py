"""Exact relations between columns: found on the real rows, made to hold on the synthetic rows.

A synthesizer learns distributions, so a relation that holds on every real row — charges that are minutes times a
fixed rate, a total that is the sum of its parts, an end date never before its start, a plan that fixes its price —
comes out approximately at best. These are found on the real table (holding on at least `SUPPORT` of the rows where
both sides are present, one mistyped row aside) and enforced on the synthetic rows after sampling, each in the way
that keeps the most of what the synthesizer drew:

- `ratio`: `b = k * a` — `b` is recomputed from `a` (and rounded as the real `b` is written);
- `sum`: `c = a + b (+ m)` — `c` is recomputed (a constant offset `m` kept: CPS85's age is schooling plus
  experience plus 6 years);
- `order`: `a <= b` — a synthetic row where `a > b` has the two values swapped;
- `determines`: each value of category `a` goes with one value of `b` — `b` is set from `a`'s real value; for a
  group key of many levels with several rows each (a plane's carrier, a person's school in a panel), `b` is made
  constant within each synthetic group, on the value most of its rows drew, and never copied from the real group of
  the same key: a synthetic row that reuses a real person's number must not carry that person's attributes;
- `date part`: `c` is the year, quarter, month, day, weekday, hour or minute of date `d` — `c` is recomputed.

The report lists every relation with its violation rate on the real rows and on the synthetic rows before and after.
Django-free, like the rest of the engine.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

SUPPORT = 0.999  # share of the real rows (with both sides present) on which a relation must hold, see `_tolerated`
MIN_ROWS = 20  # fewer rows with both sides present: no relation is claimed
MAX_NUMERIC = 40  # columns considered for sums (pairs of pairs grow fast)
GROUP_ROWS = 5  # a key of more than 50 levels can fix another column when it has at least this many rows per level
GROUP_KEY_LEVELS = 50  # a key of more levels names members (people, planes): its groups are kept, not its values
RELATIVE_TOLERANCE = 1e-6


@dataclass(frozen=True)
class Relation:
    kind: str  # "ratio" | "sum" | "order" | "determines" | "date part"
    columns: tuple[str, ...]  # ratio: (a, b) with b = k*a; sum: (a, b, c) with c = a+b+offset; order: (a, b) a <= b
    factor: float | None = None  # ratio: k
    # determines: value of a (as str) -> value of b; None for a group key (b constant within each group of a)
    mapping: dict[str, Any] | None = None
    decimals: int | None = None  # ratio and sum: decimals the real result column is written with
    offset: float | None = None  # sum: a constant added (None and 0: none)
    part: str | None = None  # date part: (d, c) with c = d's `part` (a pandas .dt attribute)

    def describe(self) -> str:
        a = self.columns
        if self.kind == "ratio":
            return f"{a[1]} = {self.factor:g} × {a[0]}"
        if self.kind == "sum":
            constant = f" {'+' if self.offset > 0 else '-'} {abs(self.offset):g}" if self.offset else ""
            return f"{a[2]} = {a[0]} + {a[1]}{constant}"
        if self.kind == "order":
            return f"{a[0]} ≤ {a[1]}"
        if self.kind == "date part":
            return f"{a[1]} = {self.part} of {a[0]}"
        return f"{a[0]} determines {a[1]}"


def _numeric(frame: pd.DataFrame) -> list[str]:
    out = []
    for name in frame.columns:
        series = frame[name]
        if pd.api.types.is_bool_dtype(series):
            continue
        if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_datetime64_any_dtype(series):
            if series.nunique(dropna=True) > 2:
                out.append(name)
    return out


def _as_float(series: pd.Series) -> np.ndarray:
    if pd.api.types.is_datetime64_any_dtype(series):
        naive = series.dt.tz_convert("UTC").dt.tz_localize(None) if series.dt.tz is not None else series
        values = naive.to_numpy().astype("datetime64[ns]").astype("int64").astype(float)
        return np.where(series.isna().to_numpy(), np.nan, values)
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)


def _decimals(series: pd.Series) -> int | None:
    if not pd.api.types.is_float_dtype(series):
        return 0 if pd.api.types.is_integer_dtype(series) else None
    values = series.dropna().head(2000).to_numpy(dtype=float)
    for places in range(7):
        if np.allclose(values, np.round(values, places), rtol=0, atol=10 ** -(places + 3)):
            return places
    return None


def _roundest_factor(factor: float, x: np.ndarray, y: np.ndarray, decimals: int | None) -> float:
    """The factor with the fewest significant digits that still explains the rows: a rate of 0.17 rather than the
    0.170004 a median of rounded charges gives, so the relation found on one sample holds on any other."""
    if factor == 0 or not np.isfinite(factor):
        return factor
    magnitude = int(np.floor(np.log10(abs(factor))))
    for digits in range(1, 10):
        rounded = round(factor, digits - 1 - magnitude)
        if _holds(_close(rounded * x, y, decimals)):
            return rounded
    return factor


def _roundest_offset(offset: float, decimals: int | None) -> float:
    """The constant of a sum as the result column is written (whole years, cents); 0 when it is within rounding."""
    if not np.isfinite(offset):
        return 0.0
    rounded = round(offset, decimals if decimals is not None else 6)
    return 0.0 if abs(rounded) < 1e-9 else float(rounded)


def _holds(mask: np.ndarray) -> bool:
    return mask.size >= MIN_ROWS and int((~mask).sum()) <= _tolerated(mask.size)


def _tolerated(rows: int) -> int:
    """Rows that may break a relation among `rows`: a share 1 - SUPPORT, and at least one from 100 rows on, so that
    one mistyped record does not hide a relation (mosaicData/CPS85: age = schooling + experience + 6 on 533 of its
    534 rows)."""
    return max(int(np.floor((1 - SUPPORT) * rows + 1e-9)), 1 if rows >= 100 else 0)


def _close(x: np.ndarray, y: np.ndarray, decimals: int | None) -> np.ndarray:
    tolerance = 0.5 * 10.0**-decimals + 1e-9 if decimals is not None else 0.0
    return np.abs(x - y) <= np.maximum(tolerance, RELATIVE_TOLERANCE * np.abs(y))


DETECT_SAMPLE = 2000  # candidates are found on this many rows, then checked on every row


def detect(frame: pd.DataFrame, *, skip: set[str] | None = None) -> list[Relation]:
    """Relations that hold on (nearly) every real row of `frame`; `skip`: columns left out (identifiers). Found on
    a sample of the rows (the search over pairs and triples of columns is the cost), then checked on all of them."""
    sample = frame.sample(DETECT_SAMPLE, random_state=0) if len(frame) > DETECT_SAMPLE else frame
    found = _detect(sample.reset_index(drop=True), skip or set(), _key_levels(frame, skip or set()))
    if sample is frame:
        return found
    kept = []
    for relation in found:
        broken, rows = _broken(frame, relation)
        if broken <= _tolerated(rows):
            kept.append(relation)
    return kept


def _key_levels(frame: pd.DataFrame, skip: set[str]) -> dict[str, int]:
    """The columns that can fix another, with their number of levels, judged on every row: 2 to 50 levels, or more
    with at least GROUP_ROWS rows per level. On the search's sample a group key has fewer rows per level than that
    (Ecdat/Males: 545 people with 8 rows each, 3.7 each in 2,000 rows), and its relations were never looked for."""
    out = {}
    for c in frame.columns:
        if c in skip or pd.api.types.is_float_dtype(frame[c]) or pd.api.types.is_datetime64_any_dtype(frame[c]):
            continue
        levels = frame[c].nunique(dropna=True)
        if 2 <= levels <= max(GROUP_KEY_LEVELS, frame[c].notna().sum() // GROUP_ROWS):
            out[c] = levels
    return out


def _detect(frame: pd.DataFrame, skip: set[str], key_levels: dict[str, int]) -> list[Relation]:
    relations: list[Relation] = []
    numeric = [c for c in _numeric(frame) if c not in skip][:MAX_NUMERIC]
    values = {c: _as_float(frame[c]) for c in numeric}
    ratio_pairs: set[frozenset[str]] = set()
    datetimes = {c for c in numeric if pd.api.types.is_datetime64_any_dtype(frame[c])}
    for a, b in itertools.permutations(numeric, 2):
        present = ~np.isnan(values[a]) & ~np.isnan(values[b])
        x, y = values[a][present], values[b][present]
        if x.size < MIN_ROWS:
            continue
        # b = k * a (numbers only; k != 1), one way round: the input is the column written with fewer decimals (a
        # product of a rate and minutes has more than the minutes), else the one that comes first
        if not (a in datetimes or b in datetimes) and frozenset((a, b)) not in ratio_pairs:
            nonzero = np.abs(x) > 0
            if nonzero.sum() >= MIN_ROWS:
                decimals = _decimals(frame[b])
                factor = _roundest_factor(float(np.median(y[nonzero] / x[nonzero])), x, y, decimals)
                if abs(factor - 1) > 1e-9 and factor != 0 and _holds(_close(factor * x, y, decimals)):
                    ratio_pairs.add(frozenset((a, b)))
                    places_a, places_b = _decimals(frame[a]) or 0, decimals or 0
                    if places_a > places_b:  # b is the input: a = b / k
                        relation = Relation("ratio", (b, a), factor=round(1 / factor, 10), decimals=_decimals(frame[a]))
                    else:
                        relation = Relation("ratio", (a, b), factor=round(factor, 10), decimals=decimals)
                    relations.append(relation)
                    continue
        # a <= b, where it tells something: the same pairs drawn at random would break it often (a start and an
        # end date, a part and its total), unlike two columns on scales that never meet (a z-score and an age)
        if (a in datetimes) == (b in datetimes) and _holds(x <= y) and (x < y).mean() > 0.05:
            shuffled = np.random.default_rng(0).permutation(y)
            if (x > shuffled).mean() >= 0.05:
                relations.append(Relation("order", (a, b)))
    plain = [c for c in numeric if c not in datetimes]
    for a, b in itertools.combinations(plain, 2):
        for c in plain:
            if c in (a, b) or frozenset((a, c)) in ratio_pairs or frozenset((b, c)) in ratio_pairs:
                continue
            present = ~np.isnan(values[a]) & ~np.isnan(values[b]) & ~np.isnan(values[c])
            if present.sum() < MIN_ROWS:
                continue
            decimals = _decimals(frame[c])
            total, result = values[a][present] + values[b][present], values[c][present]
            offset = _roundest_offset(float(np.median(result - total)), decimals)
            if _holds(_close(total + offset, result, decimals)):
                relations.append(Relation("sum", (a, b, c), decimals=decimals, offset=offset or None))
    relations.extend(_date_parts(frame, skip))
    relations.extend(_dependencies(frame, skip, key_levels))
    return _without_implied_orders(relations)


def _dependencies(frame: pd.DataFrame, skip: set[str], key_levels: dict[str, int]) -> list[Relation]:
    """Category a fixes b: few levels of a (2 to 50), or a group key (`_key_levels`), each with one value of b on
    (nearly) every row, with at least MIN_ROWS rows that repeat a level (each one a test of the relation), and b not a
    copy of a nor constant."""
    out = []
    categories = [c for c in frame.columns if c in key_levels]
    for a in categories:
        for b in frame.columns:
            if b == a or b in skip or frame[b].nunique(dropna=True) < 2:
                continue
            if frame[b].value_counts(normalize=True).iloc[0] >= SUPPORT:
                continue  # b is all but constant: every category would "determine" it
            pair = frame[[a, b]].dropna()
            if len(pair) < MIN_ROWS:
                continue
            keys = pair[a].map(_key)
            if len(pair) - keys.nunique() < MIN_ROWS:
                # Too few rows repeat a level of a for its levels to show anything: a column that differs on every
                # row "fixes" every other one (a 40-row training split of scores 20..99 fixed plan and visits).
                continue
            counts = pair.groupby([keys, pair[b]], sort=False).size()
            if len(pair) - counts.groupby(level=0).max().sum() > _tolerated(len(pair)):
                continue
            top = counts.sort_values(ascending=False).groupby(level=0).head(1).reset_index(level=1).iloc[:, 0]
            if any(r.columns == (b, a) for r in out):
                continue  # one-to-one (a relabelling): enforced one way round, from the column found first
            mapping = {k: _plain(v) for k, v in top.items()} if key_levels[a] <= GROUP_KEY_LEVELS else None
            out.append(Relation("determines", (a, b), mapping=mapping))
    return out


DATE_PARTS = ("year", "quarter", "month", "day", "dayofweek", "hour", "minute")


def _date_parts(frame: pd.DataFrame, skip: set[str]) -> list[Relation]:
    """Whole-number columns that are a part of a date column (nycflights13: month, day and hour of time_hour)."""
    out = []
    dates = [c for c in frame.columns if c not in skip and pd.api.types.is_datetime64_any_dtype(frame[c])]
    numbers = [
        c
        for c in frame.columns
        if c not in skip
        and pd.api.types.is_numeric_dtype(frame[c])
        and not pd.api.types.is_bool_dtype(frame[c])
        and frame[c].nunique(dropna=True) >= 2
    ]
    for d in dates:
        for c in numbers:
            pair = frame[[d, c]].dropna()
            if len(pair) < MIN_ROWS:
                continue
            number = pair[c].to_numpy(dtype=float)
            for part in DATE_PARTS:
                if _holds(getattr(pair[d].dt, part).to_numpy(dtype=float) == number):
                    out.append(Relation("date part", (d, c), part=part))
                    break
    return out


def _key(value: Any) -> str:
    """A value as `determines` compares it: whole numbers without their decimals, so a count read as 2 and as 2.0
    (an integer column with missing values, or one a metric made float) is one value."""
    if isinstance(value, bool | np.bool_):
        return str(value)
    if isinstance(value, int | float | np.number) and np.isfinite(value) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def _without_implied_orders(relations: list[Relation]) -> list[Relation]:
    """An order between the two columns of a ratio is implied by it; keep the list to what carries information."""
    ratios = {frozenset(r.columns) for r in relations if r.kind == "ratio"}
    return [r for r in relations if not (r.kind == "order" and frozenset(r.columns) in ratios)]


def violations(frame: pd.DataFrame, relation: Relation) -> float:
    """Share of the rows (with every column of the relation present) on which `relation` does not hold."""
    broken, rows = _broken(frame, relation)
    return round(float(broken / max(rows, 1)), 4)


def _group_mode(groups: pd.Series, values: pd.Series) -> pd.Series:
    """For each row, the most common of `values` in its group of `groups` (ties: the value seen first)."""
    counts = pd.DataFrame({"g": groups.to_numpy(), "v": values.to_numpy()}).groupby(["g", "v"], sort=False).size()
    mode = counts.sort_values(ascending=False, kind="stable").groupby(level=0, sort=False).head(1)
    return pd.Series(groups.map(dict(mode.index.tolist())).to_numpy(), index=groups.index)


def _broken(frame: pd.DataFrame, relation: Relation) -> tuple[int, int]:
    """Rows on which `relation` does not hold, and rows with every column of it present."""
    columns = list(relation.columns)
    if any(c not in frame for c in columns):
        return 1, 1
    if relation.kind == "determines":
        a, b = columns
        pair = frame[[a, b]].dropna()
        if relation.mapping is None:  # a group key: rows off their group's most common value
            groups = pair[a].map(_key)
            values = pair[b].map(_key)
            return int((values != _group_mode(groups, values)).sum()), len(pair)
        expected = pair[a].map(_key).map(relation.mapping)
        known = expected.notna()
        wrong = (pair[b][known].map(_key).to_numpy() != expected[known].map(_key).to_numpy()).sum()
        return int(wrong), len(pair)
    if relation.kind == "date part":
        d, c = columns
        pair = frame[[d, c]].dropna()
        values = getattr(pd.to_datetime(pair[d]).dt, relation.part).to_numpy(dtype=float)
        return int((values != pd.to_numeric(pair[c], errors="coerce").to_numpy(dtype=float)).sum()), len(pair)
    vals = [_as_float(frame[c]) for c in columns]
    present = np.all([~np.isnan(v) for v in vals], axis=0)
    vals = [v[present] for v in vals]
    if relation.kind == "ratio":
        ok = _close(relation.factor * vals[0], vals[1], relation.decimals)
    elif relation.kind == "sum":
        ok = _close(vals[0] + vals[1] + (relation.offset or 0.0), vals[2], relation.decimals)
    else:
        ok = vals[0] <= vals[1]
    return int((~ok).sum()), int(present.sum())


def enforce(frame: pd.DataFrame, relations: list[Relation]) -> pd.DataFrame:
    """`frame` with every relation made to hold (dtypes kept): dependencies, orders and date parts first, then the
    computed columns (ratios, sums) in the order `_computation_plan` gives, so that each is computed from its inputs
    as they finally are."""
    out = frame.copy()
    stage = {"determines": 0, "order": 1, "date part": 2}
    present = [r for r in relations if all(c in out for c in r.columns)]
    staged = sorted((r for r in present if r.kind in stage), key=lambda r: stage[r.kind])
    orders = [r for r in staged if r.kind == "order"]
    for sweep in range(ORDER_SWEEPS):
        # Orders sharing a column undo one another's swaps (a <= c, then b <= c swaps c below a again): they are
        # swept until none is broken, as a bubble sort is.
        for relation in staged if sweep == 0 else orders:
            try:
                out = _enforce_one(out, frame, relation)
            except (TypeError, ValueError):  # values the columns' types cannot take: the rows stay as drawn
                continue
        if not any(_broken(out, r)[0] for r in orders):
            break
    plan = _computation_plan(out, [r for r in present if r.kind in COMPUTED], orders)
    for relation, target in plan:
        try:
            out = _compute(out, frame, relation, target)
        except (TypeError, ValueError):
            continue
    # An order between a computed column and one that nothing computes nor reads: where the computation broke it,
    # the free column takes the computed value (the least change that keeps both relations).
    computed = {target for _, target in plan}
    read = {c for relation, target in plan for c in relation.columns if c != target}
    for relation in orders:
        a, b = relation.columns
        free = [c for c in (a, b) if c not in computed and c not in read]
        if len(free) == 1 and {a, b} & computed:
            x, y = _as_float(out[a]), _as_float(out[b])
            wrong = (x > y) & ~np.isnan(x) & ~np.isnan(y)
            if wrong.any():
                fixed = out[free[0]].astype(object).copy()
                fixed[wrong] = out[b if free[0] == a else a][wrong].to_numpy()
                try:
                    out[free[0]] = _cast_like(fixed, frame[free[0]])
                except (TypeError, ValueError):
                    continue
    return out


COMPUTED = ("ratio", "sum")  # relations enforced by computing one of their columns from the others
ORDER_SWEEPS = 10  # passes over the orders at most, see `enforce`


def _solved(relation: Relation, frame: pd.DataFrame, target: str) -> np.ndarray:
    """`relation` solved for its column `target`, from the other columns of `frame`: b = k·a or a = b / k for a ratio;
    c = a + b + m, a = c - b - m or b = c - a - m for a sum."""
    values = {c: _as_float(frame[c]) for c in relation.columns}
    if relation.kind == "ratio":
        a, b = relation.columns
        return relation.factor * values[a] if target == b else values[b] / relation.factor
    a, b, c = relation.columns
    if target == c:
        return values[a] + values[b] + (relation.offset or 0.0)
    return values[c] - values[b if target == a else a] - (relation.offset or 0.0)


def _computation_plan(
    frame: pd.DataFrame, relations: list[Relation], orders: list[Relation] = ()
) -> list[tuple[Relation, str]]:
    """Which column each ratio and sum computes, in an order where every input is final before it is read.

    Computing every relation's result column one after the other breaks chained relations: on ISLR/OJ both
    `PriceMM = PriceCH + ListPriceDiff` and `PriceMM = DiscMM + SalePriceMM` hold, and `PriceCH` is itself a sum, so
    the second recomputation of `PriceMM` undid the first and 95% of the synthetic rows broke a relation. Here each
    column is computed by one relation at most, and no column is computed from one computed after it (no cycle). A
    relation can be solved for any of its columns: the choice goes to the columns whose solved values on these rows
    stay inside the range the column was drawn in and keep its `orders` with the other columns as they are (a
    difference of two drawn prices can go below any real price difference, their sum less often), the relation's
    own result column first on a tie. A relation left without a column (its columns all computed by others) holds
    when it follows from them, and its rate is reported anyway."""
    options = []
    for index, relation in enumerate(relations):
        for rank, target in enumerate([relation.columns[-1], *relation.columns[:-1]]):
            with np.errstate(all="ignore"):
                values = _solved(relation, frame, target)
            drawn = _as_float(frame[target])
            known = ~np.isnan(values)
            if not known.any() or np.isnan(drawn).all():
                continue
            inside = (values >= np.nanmin(drawn)) & (values <= np.nanmax(drawn))
            for order in orders:
                if target in order.columns:
                    other = _as_float(frame[order.columns[1] if target == order.columns[0] else order.columns[0]])
                    kept = values <= other if target == order.columns[0] else values >= other
                    inside &= kept | np.isnan(other)
            inside = inside[known]
            options.append((-round(float(inside.mean()), 2), rank, index, target))
    inputs: dict[str, list[str]] = {}  # computed column -> the columns it is computed from
    chosen: dict[int, str] = {}

    def reads(column: str, target: str) -> bool:  # whether `column`, as computed, depends on `target`
        return column == target or any(reads(c, target) for c in inputs.get(column, ()))

    for _, _, index, target in sorted(options):
        sources = [c for c in relations[index].columns if c != target]
        if index in chosen or target in inputs or any(reads(c, target) for c in sources):
            continue
        chosen[index], inputs[target] = target, sources
    ordered: list[str] = []

    def visit(column: str) -> None:
        if column in inputs and column not in ordered:
            for source in inputs[column]:
                visit(source)
            ordered.append(column)

    for target in inputs:
        visit(target)
    by_target = {target: relations[index] for index, target in chosen.items()}
    return [(by_target[target], target) for target in ordered]


def _compute(out: pd.DataFrame, frame: pd.DataFrame, relation: Relation, target: str) -> pd.DataFrame:
    """Column `target` of `out` recomputed from `relation`'s other columns, where every column is present; rounded as
    the relation's result is written when it is that result or a term of a sum (whose columns share a unit), not
    when it is a ratio's input (minutes from charges and a rate)."""
    with np.errstate(all="ignore"):
        result = _solved(relation, out, target)
    if relation.decimals is not None and (relation.kind == "sum" or target == relation.columns[-1]):
        result = np.round(result, relation.decimals)
    present = ~np.isnan(result) & out[target].notna().to_numpy()
    if present.any():
        series = out[target].astype(float).copy()
        series[present] = result[present]
        out[target] = _cast_like(series, frame[target])
    return out


def _enforce_one(out: pd.DataFrame, frame: pd.DataFrame, relation: Relation) -> pd.DataFrame:
    """A dependency, a date part or an order made to hold on `out` (ratios and sums: `_compute`, in plan order)."""
    columns = list(relation.columns)
    if relation.kind == "determines" and relation.mapping is None:
        a, b = columns
        present = out[a].notna() & out[b].notna()
        if present.any():
            values = out[b][present]
            keys = values.map(_key)
            fixed = out[b].astype(object).copy()
            first = values.groupby(keys).first()  # a value of b for each of its keys
            fixed[present] = _group_mode(out[a][present].map(_key), keys).map(first).to_numpy()
            out[b] = _cast_like(fixed, frame[b])
    elif relation.kind == "determines":
        a, b = columns
        mapping = relation.mapping or {}
        expected = out[a].map(lambda v, m=mapping: None if v is None or pd.isna(v) else m.get(_key(v)))
        known = expected.notna() & out[b].notna()
        if known.any():
            fixed = out[b].astype(object).copy()
            fixed[known] = expected[known]
            out[b] = _cast_like(fixed, frame[b])
    elif relation.kind == "date part":
        d, c = columns
        dates = pd.to_datetime(out[d])
        present = dates.notna() & out[c].notna()
        if present.any():
            fixed = out[c].astype(object).copy()
            fixed[present] = getattr(dates[present].dt, relation.part).to_numpy()
            out[c] = _cast_like(fixed, frame[c])
    elif relation.kind == "order":
        a, b = columns
        x, y = _as_float(out[a]), _as_float(out[b])
        wrong = (x > y) & ~np.isnan(x) & ~np.isnan(y)
        if wrong.any():
            # Through object columns and back to each one's type: an integer and a float column swap too.
            first, second = out[a].astype(object).copy(), out[b].astype(object).copy()
            first[wrong], second[wrong] = out[b][wrong].to_numpy(), out[a][wrong].to_numpy()
            out[a], out[b] = _cast_like(first, frame[a]), _cast_like(second, frame[b])
    return out


def _cast_like(series: pd.Series, like: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(like) and not pd.api.types.is_bool_dtype(like):
        series = pd.to_numeric(series, errors="coerce")
    if pd.api.types.is_integer_dtype(like):
        return series.round().astype(like.dtype) if series.notna().all() else series.round().astype("Int64")
    try:
        return series.astype(like.dtype)
    except (TypeError, ValueError):
        return series


def report(relations: list[Relation], real: pd.DataFrame, before: pd.DataFrame, after: pd.DataFrame) -> list[dict]:
    """Per relation: what it says, and its violation rate on the real rows, the synthetic rows as the synthesizer
    drew them, and as delivered."""
    return [
        {
            **{k: v for k, v in asdict(relation).items() if k in ("kind", "columns", "factor", "offset", "part")},
            "relation": relation.describe(),
            "real_violation_rate": violations(real, relation),
            "synthetic_violation_rate_before": violations(before, relation),
            "synthetic_violation_rate": violations(after, relation),
        }
        for relation in relations
    ]
