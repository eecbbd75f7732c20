"""Gate saturation (Karpathy et al. 2015, Fig. 3): hand-made traces with fractions known in advance."""

from __future__ import annotations

import numpy as np
import pytest

from lstmkit.viz.saturation import gate_saturation, plot_saturation

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class FakeTrace(dict):
    """The LayerTrace contract: a dict name -> (batch, time, units) array, plus the attributes."""

    def __init__(self, values, *, family="lstm", layer=0, direction="forward", mask=None, name=None, variant=None):
        super().__init__(values)
        self.family, self.layer, self.direction = family, layer, direction
        self.name = name or f"{family}/l{layer}"
        self.variant = variant or family
        first = next(iter(values.values()))
        self.mask = np.ones(first.shape[:2], dtype=bool) if mask is None else mask


def lstm_trace(batch=1, time=4, units=2, fill=0.5, **kwargs) -> FakeTrace:
    values = {key: np.full((batch, time, units), fill) for key in ("i", "f", "g", "o", "c", "h")}
    return FakeTrace(values, family="lstm", **kwargs)


def test_left_fraction_of_one_unit() -> None:
    trace = lstm_trace()
    trace["f"][0, :3, 0] = 0.05  # unit 0 left-saturated on 3 of 4 steps
    trace["f"][0, 3, 0] = 0.95
    trace["f"][0, :, 1] = [0.95, 0.95, 0.5, 0.05]
    (result,) = gate_saturation([trace])
    assert result["gates"]["f"]["left"] == pytest.approx([0.75, 0.25])
    assert result["gates"]["f"]["right"] == pytest.approx([0.25, 0.5])
    assert result["gates"]["i"]["left"] == pytest.approx([0.0, 0.0])
    assert result["gates"]["f"]["left"].dtype == np.float64
    assert set(result["gates"]) == {"i", "f", "o"}  # g (the candidate), c and h are not gates
    assert {k: result[k] for k in ("name", "variant", "family", "layer", "direction")} == \
        {"name": "lstm/l0", "variant": "lstm", "family": "lstm", "layer": 0, "direction": "forward"}


def test_mask_excludes_padded_steps_over_batch_and_time() -> None:
    trace = lstm_trace(batch=2, time=3, units=1)
    mask = np.array([[True, True, False], [True, False, False]])  # 3 real steps in all
    trace.mask = mask
    f = trace["f"]
    f[0, 0, 0], f[0, 1, 0], f[1, 0, 0] = 0.01, 0.99, 0.99
    f[~mask] = np.nan  # padded steps are NaN in a real trace; they must not count (nor raise)
    (result,) = gate_saturation([trace])
    assert result["gates"]["f"]["left"] == pytest.approx([1 / 3])
    assert result["gates"]["f"]["right"] == pytest.approx([2 / 3])


@pytest.mark.parametrize(("value", "left", "right"), [(0.1, 0.0, 0.0), (0.0999, 1.0, 0.0), (0.9, 0.0, 0.0),
                                                      (0.9001, 0.0, 1.0), (0.5, 0.0, 0.0)])
def test_thresholds_are_strict(value: float, left: float, right: float) -> None:
    (result,) = gate_saturation([lstm_trace(fill=value)])
    assert result["gates"]["o"]["left"] == pytest.approx([left, left])
    assert result["gates"]["o"]["right"] == pytest.approx([right, right])


@pytest.mark.parametrize(("low", "high", "left", "right"), [(0.1, 0.9, 0.0, 0.0), (0.3, 0.7, 0.5, 0.5),
                                                            (0.25, 0.75, 0.5, 0.0)])
def test_custom_thresholds(low: float, high: float, left: float, right: float) -> None:
    trace = lstm_trace(time=2, units=1)
    trace["i"][0, :, 0] = [0.2, 0.75]
    (result,) = gate_saturation([trace], low=low, high=high)
    assert result["gates"]["i"]["left"] == pytest.approx([left])
    assert result["gates"]["i"]["right"] == pytest.approx([right])


def test_gru_gates_and_variant_without_a_gate() -> None:
    gru = FakeTrace({key: np.full((1, 2, 3), 0.95) for key in ("r", "z", "n", "h")}, family="gru", layer=1)
    nig = lstm_trace(variant="nig")
    del nig["i"]
    results = gate_saturation([gru, nig])
    assert set(results[0]["gates"]) == {"r", "z"}  # n is the candidate
    assert results[0]["gates"]["z"]["right"] == pytest.approx([1.0, 1.0, 1.0])
    assert results[0]["layer"] == 1 and results[0]["family"] == "gru"
    assert set(results[1]["gates"]) == {"f", "o"}


def test_single_trace_is_accepted() -> None:
    assert len(gate_saturation(lstm_trace())) == 1


@pytest.mark.parametrize(("low", "high"), [(0.9, 0.1), (0.5, 0.5), (0.0, 0.9), (0.1, 1.0), (-0.1, 0.5),
                                           (True, 0.9), ("0.1", 0.9)])
def test_bad_thresholds(low, high) -> None:
    with pytest.raises(ValueError, match="low"):
        gate_saturation([lstm_trace()], low=low, high=high)


def test_trace_with_no_real_step_is_an_error() -> None:
    trace = lstm_trace()
    trace.mask = np.zeros((1, 4), dtype=bool)
    with pytest.raises(ValueError, match="no real step"):
        gate_saturation([trace])


@pytest.mark.parametrize(("change", "message"), [
    (lambda t: setattr(t, "family", "rnn"), "family"),
    (lambda t: setattr(t, "mask", np.ones((1, 3), dtype=bool)), "mask must have shape"),
    (lambda t: setattr(t, "mask", np.ones((1, 4))), "boolean"),
    (lambda t: t.__setitem__("f", np.full((4, 2), 0.5)), "shape"),
    (lambda t: t["f"].__setitem__((0, 1, 0), np.nan), "finite"),
])
def test_bad_traces(change, message: str) -> None:
    trace = lstm_trace()
    change(trace)
    with pytest.raises(ValueError, match=message):
        gate_saturation([trace])


def test_empty_traces_is_an_error() -> None:
    with pytest.raises(ValueError, match="traces"):
        gate_saturation([])


def _layered(family: str, keys: str, layers: int, direction: str = "forward") -> list[FakeTrace]:
    rng = np.random.default_rng(layers)
    return [FakeTrace({key: rng.uniform(size=(2, 8, 5)) for key in keys}, family=family, layer=layer,
                      direction=direction) for layer in range(layers)]


@pytest.mark.parametrize("traces", [
    pytest.param(_layered("lstm", "ifgoch", 3), id="lstm-3-layers"),
    pytest.param(_layered("gru", "rznh", 2), id="gru"),
    pytest.param(_layered("lstm", "ifgoch", 2) + _layered("lstm", "ifgoch", 2, "backward"), id="bidirectional"),
    pytest.param(_layered("lstm", "ifgoch", 1) + _layered("gru", "rznh", 1), id="lstm-and-gru"),
])
def test_plot_writes_a_png(tmp_path, traces) -> None:
    path = plot_saturation(tmp_path / "saturation.png", gate_saturation(traces), title="gates")
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert len(data) > 10_000
    assert not list(tmp_path.glob(".*.part"))  # the atomic write left no temporary file


@pytest.mark.parametrize("saturation", [[], [{"layer": 0, "gates": {}}]])
def test_plot_needs_gates(tmp_path, saturation) -> None:
    with pytest.raises(ValueError, match="saturation"):
        plot_saturation(tmp_path / "x.png", saturation)
    assert not (tmp_path / "x.png").exists()
