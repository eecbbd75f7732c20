"""The series the forecaster reads: the embedded yearly sunspots, monthly Mauna Loa CO2 (from
statsmodels' offline copy) or a column of a user's CSV file.

Every loader returns a ``Series``: float64 values, one time label per value, the season length the
seasonal baselines use, optional covariate columns and a ``notes`` list saying what was done to the
raw data (gaps filled, resampling). Bad input raises ``AppError`` with one sentence saying what is
wrong and what was expected, so the CLI can print it without a traceback.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from lstmkit.errors import AppError

DATASETS = ("sunspots", "co2")
MAX_GAP = 3  # longest run of missing values filled by linear interpolation; longer runs are an error
MISSING = {"", "na", "n/a", "nan", "null", "none", "-"}


@dataclass(frozen=True)
class Series:
    """One univariate target series (plus optional covariates) with its time labels.

    ``times`` are numbers usable as a plot axis (years, or fractional years for monthly data, or
    0, 1, 2, ... when the file has no parseable time column); ``labels`` are the same instants as
    text (``"1979"``, ``"2001-12"``) for tables and CSV output.
    """

    name: str
    values: np.ndarray
    times: np.ndarray
    labels: tuple[str, ...]
    season: int = 1
    covariates: np.ndarray | None = None
    covariate_names: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)
    step: float = 1.0  # time units between consecutive values, to label forecasts beyond the end
    calendar_season: bool = True  # a fixed period (months of a year): seasonal ARIMA applies

    def __len__(self) -> int:
        return len(self.values)

    def future_labels(self, count: int) -> list[str]:
        """Labels for the ``count`` instants after the last value (same spacing as the data)."""
        last = self.labels[-1] if self.labels else ""
        if _is_month(last):
            year, month = int(last[:4]), int(last[5:7])
            out = []
            for _ in range(count):
                year, month = (year + 1, 1) if month == 12 else (year, month + 1)
                out.append(f"{year:04d}-{month:02d}")
            return out
        try:
            end = int(last)
        except ValueError:
            return [f"+{k}" for k in range(1, count + 1)]
        return [str(end + k * int(self.step or 1)) for k in range(1, count + 1)]


def _is_month(label: str) -> bool:
    return len(label) == 7 and label[4] == "-" and label[:4].isdigit() and label[5:].isdigit()


def load_series(data: str | None = "sunspots", *, csv_path: str | Path | None = None, target: str | None = None,
                time: str | None = None, covariates: tuple[str, ...] = (), season: int | None = None,
                max_gap: int = MAX_GAP) -> Series:
    """The series the CLI options describe: ``csv_path`` (with ``target``) wins over ``data``."""
    if csv_path is not None:
        if not target:
            raise AppError("--csv needs --target COLUMN: the name of the column to forecast")
        series = read_csv_series(csv_path, target, time=time, covariates=covariates, max_gap=max_gap)
    elif covariates:
        raise AppError("--covariates needs --csv: the built-in data sets have no covariate columns")
    elif data == "sunspots":
        series = sunspots()
    elif data == "co2":
        series = co2()
    else:
        raise AppError(f"unknown data set {data!r}: expected one of {', '.join(DATASETS)}, or --csv FILE --target COL")
    if season is not None:
        series = replace(series, season=season)
    return series


def sunspots() -> Series:
    """Yearly sunspot numbers 1700-2008 (embedded in lstmkit); the ~11-year cycle is the season."""
    from lstmkit.data import load_sunspots

    raw = load_sunspots()
    values = np.asarray(raw.values, dtype=np.float64).copy()
    years = np.asarray(raw.years, dtype=np.float64)
    return Series("sunspots", values, years, tuple(str(int(y)) for y in raw.years), season=11,
                  calendar_season=False)  # the cycle varies (9-14 years): no seasonal ARIMA


def co2() -> Series:
    """Monthly mean Mauna Loa CO2 (ppm), 1958-03 to 2001-12, from statsmodels' weekly data.

    The weekly series has 59 missing weeks; monthly means ('MS') still leave 5 empty months
    (1958-06, 1958-10, 1964-02..04), which are filled by linear interpolation and noted.
    """
    try:
        from statsmodels.datasets import co2 as co2_data
    except ImportError:  # pragma: no cover - statsmodels is a dependency of the forecast app
        raise AppError("--data co2 needs statsmodels (pip install statsmodels)") from None
    weekly = co2_data.load_pandas().data["co2"]
    monthly = weekly.resample("MS").mean()
    empty = [f"{t.year:04d}-{t.month:02d}" for t in monthly.index[monthly.isna().to_numpy()]]
    values = _fill_gaps(monthly.to_numpy(dtype=np.float64), "co2", MAX_GAP)
    labels = tuple(f"{t.year:04d}-{t.month:02d}" for t in monthly.index)
    times = np.asarray([t.year + (t.month - 1) / 12 for t in monthly.index])
    notes = (f"weekly values averaged per month; {len(empty)} empty months ({', '.join(empty)}) "
             "filled by linear interpolation",) if empty else ()
    return Series("co2", values, times, labels, season=12, notes=notes, step=1 / 12)


def read_csv_series(path: str | Path, target: str, *, time: str | None = None, covariates: tuple[str, ...] = (),
                    max_gap: int = MAX_GAP) -> Series:
    """Read column ``target`` (and optional ``time`` and ``covariates`` columns) of a CSV file.

    Missing cells (empty, NA, NaN, null) in runs of at most ``max_gap`` rows are filled by linear
    interpolation; longer runs, missing values at either end, text in a numeric column, a missing
    column or a file without data rows raise ``AppError``. A time column must increase. Blank lines
    are skipped (write NA or an empty cell in a non-empty row for a missing value).
    """
    path = Path(path)
    if not path.is_file():
        raise AppError(f"no such CSV file: {path}")
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.reader(handle))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise AppError(f"{path} is not a readable UTF-8 CSV file ({exc})") from None
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if not rows:
        raise AppError(f"{path} is empty: expected a header row and then one row per time step")
    header = [name.strip() for name in rows[0]]
    body = rows[1:]
    if not body:
        raise AppError(f"{path} has a header but no data rows")
    wanted = [target, *covariates] + ([time] if time else [])
    for column in wanted:
        if column not in header:
            raise AppError(f"{path} has no column {column!r}; its columns are: {', '.join(header)}")
    if len(set(wanted)) != len(wanted):
        raise AppError(f"columns must differ: --target, --time and --covariates name {', '.join(wanted)}")

    def column(name: str) -> list[str]:
        k = header.index(name)
        return [row[k].strip() if k < len(row) else "" for row in body]

    raw = _numbers(column(target), target, path)
    values = _fill_gaps(raw, target, max_gap)
    covs = None
    if covariates:
        covs = np.stack([_fill_gaps(_numbers(column(c), c, path), c, max_gap) for c in covariates],
                        axis=1)
    times, labels, step = _times(column(time), time, path) if time else (
        np.arange(len(values), dtype=np.float64), tuple(str(k) for k in range(len(values))), 1.0)
    notes = []
    filled = int(np.isnan(raw).sum())
    if filled:
        notes.append(f"{filled} missing {target!r} values (runs of at most {max_gap}) filled by linear interpolation")
    return Series(path.stem, values, times, labels, season=1, covariates=covs, covariate_names=tuple(covariates),
                  notes=tuple(notes), step=step)


def _numbers(cells: list[str], name: str, path: Path) -> np.ndarray:
    """Floats of a column, NaN for missing cells; text that is not a number is an error."""
    out = np.empty(len(cells), dtype=np.float64)
    for k, cell in enumerate(cells):
        if cell.lower() in MISSING:
            out[k] = np.nan
            continue
        try:
            value = float(cell)
        except ValueError:
            raise AppError(f"{path}, row {k + 2}: column {name!r} holds {cell!r}, expected a number "
                           "(or an empty cell for a missing value)") from None
        if math.isinf(value):
            raise AppError(f"{path}, row {k + 2}: column {name!r} holds {cell!r}, expected a finite number")
        out[k] = value
    return out


def _fill_gaps(values: np.ndarray, name: str, max_gap: int) -> np.ndarray:
    """Linear interpolation over runs of at most ``max_gap`` NaNs strictly inside the series."""
    missing = np.isnan(values)
    if missing.all():
        raise AppError(f"column {name!r} has no values: every row is missing")
    if not missing.any():
        return values
    if missing[0] or missing[-1]:
        where = "first" if missing[0] else "last"
        raise AppError(f"column {name!r}: the {where} value is missing; remove the rows before the first / after "
                       "the last value (only gaps inside the series are filled)")
    run, longest, start, longest_start = 0, 0, 0, 0
    for k, gap in enumerate(missing):
        run = run + 1 if gap else 0
        if run == 1:
            start = k
        if run > longest:
            longest, longest_start = run, start
    if longest > max_gap:
        raise AppError(f"column {name!r} has {longest} missing values in a row (from data row {longest_start + 1}); "
                       f"at most {max_gap} consecutive missing values are filled, fill or cut the longer gap first")
    index = np.arange(len(values))
    filled = values.copy()
    filled[missing] = np.interp(index[missing], index[~missing], values[~missing])
    return filled


def _times(cells: list[str], name: str, path: Path) -> tuple[np.ndarray, tuple[str, ...], float]:
    """Numeric plot positions for a time column: numbers as they are, ISO dates as fractional years."""
    from datetime import date, datetime

    if any(cell.lower() in MISSING for cell in cells):
        k = next(k for k, cell in enumerate(cells) if cell.lower() in MISSING)
        raise AppError(f"{path}, row {k + 2}: the time column {name!r} is empty; every row needs a time")
    try:
        times = np.asarray([float(cell) for cell in cells])
    except ValueError:
        try:
            stamps = [datetime.fromisoformat(cell) if len(cell) > 7 else datetime.fromisoformat(cell + "-01")
                      for cell in cells]
        except ValueError:
            raise AppError(f"{path}: the time column {name!r} holds {cells[0]!r}...; expected numbers (e.g. years) or "
                           "ISO dates (YYYY-MM-DD or YYYY-MM)") from None
        times = np.asarray([(s - datetime(s.year, 1, 1)).total_seconds()
                            / ((date(s.year + 1, 1, 1) - date(s.year, 1, 1)).days * 86400.0) + s.year for s in stamps])
    if len(times) > 1 and not np.all(np.diff(times) > 0):
        k = int(np.argmax(np.diff(times) <= 0)) + 1
        raise AppError(f"{path}, row {k + 2}: the time column {name!r} must increase, but {cells[k]!r} follows "
                       f"{cells[k - 1]!r}; sort the file by time")
    step = float(np.median(np.diff(times))) if len(times) > 1 else 1.0
    return times, tuple(cells), step


def require_length(series: Series, needed: int, why: str) -> None:
    """Raise ``AppError`` unless ``series`` has at least ``needed`` values (``why`` explains the need)."""
    if len(series) < needed:
        raise AppError(f"the series {series.name!r} has {len(series)} values, too short: {why} needs at least {needed}")
