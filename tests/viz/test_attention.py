"""lstmkit.viz.attention: captured scores against a direct softmax(q k^T) on models with known
weights, the model left exactly as it was (outputs, masks, RNG, modes, no wrapper left behind),
shared layers and several inputs, errors, and the PNG and HTML outputs."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch

from lstmkit.keras import Model, Sequential, layers
from lstmkit.keras.engine.input_layer import Input
from lstmkit.viz.attention import attention_scores, plot_attention, write_attention_page

PNG = b"\x89PNG\r\n\x1a\n"
T, F, U = 6, 3, 5


def _set_known_weights(model: Model, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    model.set_weights([rng.uniform(-0.8, 0.8, size=w.shape).astype("float32") for w in model.get_weights()])


def _softmax(s: np.ndarray) -> np.ndarray:
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _slide11(use_scale: bool = False) -> tuple[Model, layers.LSTM]:
    """The deck's slide 11: LSTM -> Attention()([h, h]) -> Concatenate -> Dense."""
    torch.manual_seed(0)
    inputs = Input((T, F))
    lstm = layers.LSTM(U, return_sequences=True, name="lstm")
    h = lstm(inputs)
    att = layers.Attention(use_scale=use_scale, name="att")([h, h])
    out = layers.Dense(1, name="head")(layers.Concatenate(name="cat")([h, att]))
    model = Model(inputs, out)
    _set_known_weights(model)
    return model, lstm


def _x(batch: int = 4, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(batch, T, F)).astype("float32")


@pytest.mark.parametrize("use_scale", [False, True])
def test_scores_equal_direct_dot_product_softmax(use_scale: bool) -> None:
    model, lstm = _slide11(use_scale)
    if use_scale:
        model.get_layer("att").set_weights([np.float32(0.37)])
    x = _x()
    items = attention_scores(model, x)
    assert [(i["name"], i["call"]) for i in items] == [("att", 0)]
    scores = items[0]["scores"]
    assert scores.shape == (4, T, T) and scores.dtype == np.float32
    with torch.no_grad():
        h = lstm(torch.from_numpy(x)).numpy().astype(np.float64)
    scale = 0.37 if use_scale else 1.0
    np.testing.assert_allclose(scores, _softmax(scale * h @ h.transpose(0, 2, 1)), atol=1e-6, rtol=1e-5)
    np.testing.assert_allclose(scores.sum(axis=-1), 1.0, atol=1e-6)


def test_capture_leaves_model_outputs_rng_and_modes_unchanged() -> None:
    model, _ = _slide11()
    att = model.get_layer("att")
    x = _x(5)
    before = model.predict(x, verbose=0)
    rng = torch.get_rng_state()
    modes = [m.training for m in model.modules()]
    attention_scores(model, x, batch_size=2)
    assert torch.equal(torch.get_rng_state(), rng)
    assert [m.training for m in model.modules()] == modes
    assert "call" not in att.__dict__  # the wrapper is gone: the class's call is used again
    np.testing.assert_array_equal(model.predict(x, verbose=0), before)


def test_batches_concatenate_to_the_single_batch_result() -> None:
    model, _ = _slide11()
    x = _x(7)
    whole = attention_scores(model, x, batch_size=32)[0]["scores"]
    parts = attention_scores(model, x, batch_size=3)[0]["scores"]
    np.testing.assert_allclose(parts, whole, atol=1e-6)


def test_masked_keys_get_no_weight_and_output_mask_is_untouched() -> None:
    torch.manual_seed(0)
    tokens = Input((T,), dtype="int64")
    h = layers.LSTM(U, return_sequences=True)(layers.Embedding(10, 4, mask_zero=True)(tokens))
    att = layers.Attention(name="att")([h, h])
    out = layers.Dense(1)(layers.GlobalAveragePooling1D()(att))
    model = Model(tokens, out)
    x = np.array([[3, 4, 5, 0, 0, 0], [1, 2, 3, 4, 5, 6]])
    before = model.predict(x, verbose=0)
    scores = attention_scores(model, x)[0]["scores"]
    assert np.all(scores[0, :, 3:] < 1e-6)  # padding is never attended to
    np.testing.assert_allclose(scores.sum(axis=-1), 1.0, atol=1e-6)
    np.testing.assert_array_equal(model.predict(x, verbose=0), before)


def test_two_inputs_different_lengths_and_a_shared_layer() -> None:
    torch.manual_seed(0)
    q_in, v_in = Input((3, F)), Input((T, F))
    shared = layers.Attention(name="shared")
    first = shared([q_in, v_in])
    second = shared([first, v_in])
    model = Model([q_in, v_in], layers.Dense(1)(second))
    rng = np.random.default_rng(2)
    q = rng.normal(size=(2, 3, F)).astype("float32")
    v = rng.normal(size=(2, T, F)).astype("float32")
    items = attention_scores(model, [q, v])
    assert [(i["name"], i["call"]) for i in items] == [("shared", 0), ("shared", 1)]
    qd, vd = q.astype(np.float64), v.astype(np.float64)
    w0 = _softmax(qd @ vd.transpose(0, 2, 1))
    np.testing.assert_allclose(items[0]["scores"], w0, atol=1e-6)
    np.testing.assert_allclose(items[1]["scores"], _softmax((w0 @ vd) @ vd.transpose(0, 2, 1)), atol=1e-5)
    assert items[0]["scores"].shape == (2, 3, T)


def test_a_model_that_already_returns_scores_keeps_its_outputs() -> None:
    torch.manual_seed(0)
    inputs = Input((T, F))
    h = layers.LSTM(U, return_sequences=True)(inputs)
    out, weights = layers.Attention(name="att")([h, h], return_attention_scores=True)
    model = Model(inputs, [out, weights])
    x = _x(3)
    got = attention_scores(model, x, layer="att")[0]["scores"]
    np.testing.assert_allclose(got, model.predict(x, verbose=0)[1], atol=1e-7)


def test_errors_name_what_the_model_has() -> None:
    plain = Sequential([layers.Input((T, F)), layers.LSTM(U, name="enc"), layers.Dense(1, name="out")])
    with pytest.raises(ValueError, match=r"no Attention layer.*'enc'.*'out'"):
        attention_scores(plain, _x())
    model, _ = _slide11()
    with pytest.raises(ValueError, match=r"layer must name an Attention layer.*\['att'\].*'nope'"):
        attention_scores(model, _x(), layer="nope")
    with pytest.raises(TypeError, match="lstmkit.keras model"):
        attention_scores(torch.nn.Linear(2, 2), _x())
    with pytest.raises(ValueError, match="not built"):
        attention_scores(Sequential([layers.Dense(1)]), _x())
    with pytest.raises(ValueError, match="batch_size"):
        attention_scores(model, _x(), batch_size=0)


def test_wrapper_is_removed_when_the_model_call_fails() -> None:
    model, _ = _slide11()
    with pytest.raises(ValueError):
        attention_scores(model, np.zeros((2, T, F + 1), dtype="float32"))
    assert "call" not in model.get_layer("att").__dict__


# --------------------------------------------------------------------------- outputs
def test_plot_attention_writes_png(tmp_path) -> None:
    model, _ = _slide11()
    scores = attention_scores(model, _x())[0]["scores"]
    labels = [f"t{i}" for i in range(T)]
    path = plot_attention(tmp_path / "att.png", scores[0], query_labels=labels, key_labels=labels, title="slide 11")
    assert path == tmp_path / "att.png" and path.read_bytes().startswith(PNG)
    big = plot_attention(tmp_path / "big.png", np.full((50, 70), 1 / 70))
    assert big.read_bytes().startswith(PNG)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["att.png", "big.png"]  # no temp files left


def test_plot_attention_rejects_bad_input(tmp_path) -> None:
    with pytest.raises(ValueError, match=r"scores must be one non-empty \(Tq, Tv\) matrix.*\(2, 3, 4\)"):
        plot_attention(tmp_path / "a.png", np.ones((2, 3, 4)))
    with pytest.raises(ValueError, match="key_labels must have one label per step: expected 4, got 3"):
        plot_attention(tmp_path / "a.png", np.ones((3, 4)) / 4, key_labels=["a", "b", "c"])
    with pytest.raises(ValueError, match="finite"):
        plot_attention(tmp_path / "a.png", np.array([[np.nan, 1.0]]))
    assert not list(tmp_path.iterdir())


def _page_data(text: str) -> dict:
    found = re.search(r'<script type="application/json" id="attention-data">(.*?)</script>', text, re.S)
    assert found is not None
    return json.loads(found.group(1))


def test_page_is_offline_and_escapes_labels(tmp_path) -> None:
    model, _ = _slide11()
    items = attention_scores(model, _x(2))
    evil = "</script><b>"
    labels = [evil, *[f"t{i}" for i in range(1, T)]]
    path = write_attention_page(tmp_path / "att.html", [dict(items[0], query_labels=labels, key_labels=labels)],
                                title="<i>slide 11</i>")
    text = path.read_text(encoding="utf-8")
    assert not re.search(r"https?://", text)
    assert evil not in text and "<b>" not in text and "<i>slide" not in text
    assert "innerHTML" not in text and "textContent" in text
    data = _page_data(text)
    item = data["items"][0]
    assert item["query_labels"][1][0] == evil and data["title"] == "<i>slide 11</i>"
    assert np.array(item["scores"], dtype=np.float32).tolist() == items[0]["scores"].tolist()  # exact weights
    assert len(item["scores"]) == 2 and len(item["key_labels"]) == 2


def test_page_takes_2d_scores_per_example_labels_and_rejects_bad_items(tmp_path) -> None:
    m = np.array([[0.25, 0.75], [0.5, 0.5]])
    items = [{"name": "a", "scores": m}, {"scores": np.stack([m, m]), "key_labels": [["x", "y"], ["u", "v"]]}]
    path = write_attention_page(tmp_path / "p.html", items)
    data = _page_data(path.read_text(encoding="utf-8"))
    assert data["items"][0]["scores"] == [m.tolist()] and data["items"][1]["name"] == "item 1"
    assert data["items"][1]["key_labels"] == [["x", "y"], ["u", "v"]]
    with pytest.raises(ValueError, match="items must be a non-empty list"):
        write_attention_page(tmp_path / "e.html", [])
    with pytest.raises(ValueError, match=r"items\[0\] must be a dict with 'scores'"):
        write_attention_page(tmp_path / "e.html", [{"name": "x"}])
    with pytest.raises(ValueError, match=r"key_labels.*expected 2, got 3"):
        write_attention_page(tmp_path / "e.html", [{"scores": m, "key_labels": ["a", "b", "c"]}])
    assert not (tmp_path / "e.html").exists()
