"""Series loading: the built-in data sets and a user's CSV, with one clear error per kind of bad input."""

from pathlib import Path

import numpy as np
import pytest

from lstmkit.apps.forecast.data import load_series, read_csv_series, sunspots
from lstmkit.errors import AppError


def write(tmp_path: Path, text: str, name: str = "series.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_sunspots_is_the_embedded_yearly_series() -> None:
    s = sunspots()
    assert len(s) == 309 and s.labels[0] == "1700" and s.labels[-1] == "2008"
    assert s.season == 11 and not s.calendar_season
    assert s.future_labels(2) == ["2009", "2010"]


def test_co2_is_monthly_with_the_five_empty_months_filled_and_noted() -> None:
    s = load_series("co2")
    assert len(s) == 526 and s.labels[0] == "1958-03" and s.labels[-1] == "2001-12"
    assert np.all(np.isfinite(s.values)) and s.season == 12
    assert "5 empty months" in s.notes[0] and "1964-02" in s.notes[0]
    june, july, may = s.labels.index("1958-06"), s.labels.index("1958-07"), s.labels.index("1958-05")
    assert s.values[june] == pytest.approx((s.values[may] + s.values[july]) / 2)
    assert s.future_labels(2) == ["2002-01", "2002-02"]


def test_csv_with_time_and_covariates(tmp_path: Path) -> None:
    path = write(tmp_path, "date,y,x\n2020-01,1,10\n2020-02,,11\n2020-03,3,12\n2020-04,4,13\n")
    s = read_csv_series(path, "y", time="date", covariates=("x",))
    np.testing.assert_allclose(s.values, [1, 2, 3, 4])  # the one-cell gap is interpolated
    assert s.covariates.shape == (4, 1) and s.covariate_names == ("x",)
    assert s.labels == ("2020-01", "2020-02", "2020-03", "2020-04") and "interpolation" in s.notes[0]
    assert s.future_labels(1) == ["2020-05"]
    assert np.all(np.diff(s.times) > 0)


@pytest.mark.parametrize(
    ("text", "kwargs", "message"),
    [
        ("", {}, "is empty"),
        ("y\n", {}, "no data rows"),
        ("a,b\n1,2\n", {}, "no column 'y'; its columns are: a, b"),
        ("y\n1\ntwo\n3\n", {}, "row 3: column 'y' holds 'two', expected a number"),
        ("t,y\n1,1\n2,\n3,NA\n4,nan\n5,null\n6,6\n", {}, "4 missing values in a row"),
        ("y\nNA\n2\n3\n", {}, "the first value is missing"),
        ("y\nNA\nNA\n", {}, "has no values"),
        ("t,y\n2,1\n1,2\n", {"time": "t"}, "must increase"),
        ("t,y\n2,1\n3,2\n", {"time": "t", "covariates": ("x",)}, "no column 'x'"),
    ],
)
def test_bad_csv_input_is_one_clear_error(tmp_path: Path, text: str, kwargs: dict, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(AppError) as info:
        read_csv_series(path, "y", **kwargs)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_gap_limit_is_configurable(tmp_path: Path) -> None:
    path = write(tmp_path, "y\n1\nNA\nNA\n4\n")
    assert read_csv_series(path, "y", max_gap=2).values.tolist() == [1, 2, 3, 4]
    with pytest.raises(AppError, match="2 missing values in a row"):
        read_csv_series(path, "y", max_gap=1)


def test_missing_file_and_option_mistakes(tmp_path: Path) -> None:
    with pytest.raises(AppError, match="no such CSV file"):
        read_csv_series(tmp_path / "nope.csv", "y")
    with pytest.raises(AppError, match="--target"):
        load_series(None, csv_path=write(tmp_path, "y\n1\n"))
    with pytest.raises(AppError, match="unknown data set"):
        load_series("weather")
