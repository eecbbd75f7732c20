"""Small data sets shipped inside the package.

``sunspots.csv`` holds the yearly sunspot numbers 1700-2008 as shipped in statsmodels
(``statsmodels.datasets.sunspots``, column ``SUNACTIVITY``), originally from the NOAA National
Geophysical Data Center; the data are in the public domain.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

__all__ = ["Sunspots", "load_sunspots"]

_HEADER = ["year", "sunactivity"]


@dataclass(frozen=True)
class Sunspots:
    """A yearly series: ``years[k]`` is the calendar year of ``values[k]`` (the sunspot number).

    Both arrays are read-only; copy them (``values.copy()``) to change them.
    """

    years: np.ndarray  # int64, contiguous and increasing
    values: np.ndarray  # float64, finite and non-negative

    def __len__(self) -> int:
        return len(self.values)


def load_sunspots(path: str | Path | None = None) -> Sunspots:
    """Load the yearly sunspot numbers 1700-2008 (309 years) shipped with lstmkit.

    ``path`` reads another file of the same format instead (``#`` comment lines, then the header
    ``year,sunactivity``, then one ``year,value`` row per consecutive year). A malformed file raises
    a ValueError that names the file, the line and what is wrong with it.
    """
    if path is None:
        source = resources.files(__name__).joinpath("sunspots.csv")
        name, text = "lstmkit/data/sunspots.csv", source.read_text(encoding="utf-8")
    else:
        name, text = str(path), Path(path).read_text(encoding="utf-8")
    return _parse(text, name)


def _parse(text: str, name: str) -> Sunspots:
    years: list[int] = []
    values: list[float] = []
    header_seen = False
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = [field.strip() for field in line.split(",")]
        where = f"{name}, line {lineno}"
        if not header_seen:
            if [field.lower() for field in fields] != _HEADER:
                raise ValueError(f"{where}: expected the header 'year,sunactivity', found {line!r}")
            header_seen = True
            continue
        if len(fields) != 2:
            raise ValueError(f"{where}: expected 2 comma-separated fields, found {len(fields)}: {line!r}")
        try:
            year, value = int(fields[0]), float(fields[1])
        except ValueError:
            raise ValueError(f"{where}: expected an integer year and a number, found {line!r}") from None
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"{where}: sunspot number must be finite and >= 0, found {fields[1]!r}")
        if years and year != years[-1] + 1:
            raise ValueError(f"{where}: year {year} does not follow {years[-1]} (years must be consecutive)")
        years.append(year)
        values.append(value)
    if not header_seen or not years:
        raise ValueError(f"{name}: no data rows (expected the header 'year,sunactivity' and then rows)")
    year_array = np.asarray(years, dtype=np.int64)
    value_array = np.asarray(values, dtype=np.float64)
    year_array.flags.writeable = False
    value_array.flags.writeable = False
    return Sunspots(years=year_array, values=value_array)
