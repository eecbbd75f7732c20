from pathlib import Path

import numpy as np
import pytest

from lstmkit.data import Sunspots, load_sunspots


def test_sunspots_shape_years_and_values() -> None:
    data = load_sunspots()
    assert isinstance(data, Sunspots)
    assert len(data) == 309
    assert data.years.shape == data.values.shape == (309,)
    np.testing.assert_array_equal(data.years, np.arange(1700, 2009))
    assert np.isfinite(data.values).all()
    assert (data.values >= 0).all()
    # Spot checks against statsmodels.datasets.sunspots.
    assert data.values[0] == 5.0
    assert data.values[-1] == 2.9
    assert data.values.max() == 190.2


def test_sunspots_arrays_are_read_only() -> None:
    data = load_sunspots()
    with pytest.raises(ValueError):
        data.values[0] = 1.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no data rows"),
        ("year,spots\n1700,5\n", "expected the header"),
        ("year,sunactivity\n1700,5,1\n", "expected 2 comma-separated fields"),
        ("year,sunactivity\n1700,five\n", "expected an integer year and a number"),
        ("year,sunactivity\n1700,nan\n", "finite"),
        ("year,sunactivity\n1700,-1\n", ">= 0"),
        ("year,sunactivity\n1700,5\n1702,6\n", "does not follow 1700"),
    ],
)
def test_malformed_file_raises_value_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=message) as info:
        load_sunspots(path)
    assert str(path) in str(info.value)


def test_other_file_of_the_same_format_loads(tmp_path: Path) -> None:
    path = tmp_path / "tiny.csv"
    path.write_text("# comment\nyear,sunactivity\n1990,142.6\n1991,145.7\n", encoding="utf-8")
    data = load_sunspots(path)
    np.testing.assert_array_equal(data.years, [1990, 1991])
    np.testing.assert_array_equal(data.values, [142.6, 145.7])
