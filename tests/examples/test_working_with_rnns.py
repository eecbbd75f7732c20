"""examples/working_with_rnns.py (the Keras guide "Working with RNNs" on lstmkit.keras) runs, small:
on random data when mnist.npz is not in the Keras cache, on the cached file when it is; its
registered NestedCell model saves and loads; and the script is the guide's code with only the
marked lines changed."""

from __future__ import annotations

import contextlib
import io
import re
import runpy
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "working_with_rnns.py"


def _run(monkeypatch, keras_home):
    monkeypatch.setenv("LSTMKIT_EXAMPLE_SMALL", "1")
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        namespace = runpy.run_path(str(SCRIPT), run_name="__main__")
    return namespace, printed.getvalue()


@pytest.fixture(scope="module")
def fallback_run(tmp_path_factory):
    with pytest.MonkeyPatch.context() as monkeypatch:
        return _run(monkeypatch, tmp_path_factory.mktemp("empty_keras_home"))


def test_guide_runs_on_random_mnist_without_the_file(fallback_run):
    namespace, text = fallback_run
    assert "Predicted result is:" in text
    assert text.count("val_accuracy") == 2  # the two MNIST fits, with validation
    assert namespace["x_train"].shape == (256, 28, 28) and namespace["x_test"].shape == (64, 28, 28)
    assert 0.0 <= namespace["x_train"].min() and namespace["x_train"].max() <= 1.0
    model = namespace["model"]
    outputs = model.predict([namespace["input_1_data"][:3], namespace["input_2_data"][:3]], verbose=0)
    assert outputs[0].shape == (3, 10) and outputs[1].shape == (3, 20, 30)  # the NestedCell model
    cpu_weights, weights = namespace["cpu_model"].get_weights(), namespace["model"].get_weights()
    assert len(cpu_weights) == 9 and len(weights) == 2  # LSTM 3 + BatchNormalization 4 + Dense 2 / NestedCell 2


def test_nested_cell_model_saves_and_loads_by_registration(fallback_run, tmp_path):
    from lstmkit import keras

    namespace, _ = fallback_run
    model = namespace["model"]
    assert keras.saving.get_registered_name(namespace["NestedCell"]) == "Custom>NestedCell"
    model.save(tmp_path / "nested.keras")
    loaded = keras.models.load_model(tmp_path / "nested.keras")  # no custom_objects: the registration finds it
    x = [namespace["input_1_data"][:2], namespace["input_2_data"][:2]]
    for a, b in zip(loaded.predict(x, verbose=0), model.predict(x, verbose=0)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_guide_reads_cached_mnist(monkeypatch, tmp_path):
    """With mnist.npz in the Keras cache the script trains on it (a small stand-in file here)."""
    rng = np.random.default_rng(3)
    arrays = {"x_train": rng.integers(0, 256, (300, 28, 28), dtype=np.uint8),
              "y_train": rng.integers(0, 10, 300).astype(np.uint8),
              "x_test": rng.integers(0, 256, (70, 28, 28), dtype=np.uint8),
              "y_test": rng.integers(0, 10, 70).astype(np.uint8)}
    (tmp_path / "datasets").mkdir()
    np.savez(tmp_path / "datasets" / "mnist.npz", **arrays)
    namespace, text = _run(monkeypatch, tmp_path)
    np.testing.assert_allclose(namespace["x_train"], arrays["x_train"][:256] / 255.0)
    np.testing.assert_array_equal(namespace["y_test"], arrays["y_test"][:64])
    assert text.count("val_accuracy") == 2


def test_only_marked_lines_differ_from_the_guide():
    """Every code line that is not the guide's carries a ``lstmkit:`` mark (or is in a marked block)."""
    source = SCRIPT.read_text()
    body = source.split('"""', 2)[2]
    code = [line.split("#", 1)[0] for line in body.splitlines()]
    assert not [line for line in code if "tf." in line or "tensorflow" in line]  # TensorFlow only named in comments
    assert body.count("lstmkit:") >= 10
    fallback = re.search(r"except FileNotFoundError:\n(.*?)\nif SMALL", body, re.S).group(1)
    assert "NOT IN THE GUIDE" in fallback
