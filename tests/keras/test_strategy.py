"""The ``Strategy`` protocol of the one fit/evaluate/predict loop: lstmkit.keras imports nothing
from lstmkit.distributed, names resolve through the registry, and the loop asks the strategy
(not a second loop) for everything that depends on other processes."""

from __future__ import annotations

import ast
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from lstmkit.keras import callbacks, layers, models, optimizers, utils
from lstmkit.keras.models import strategy as strategy_lib
from lstmkit.keras.models.strategy import LOCAL, LocalStrategy, Strategy, register_strategy, resolve_strategy

KERAS = Path(strategy_lib.__file__).resolve().parents[1]
ROOT = KERAS.parents[1]


def _imports(path: Path) -> list[str]:
    """Every module an ``import``/``from ... import`` of the file names (at any depth)."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
            names += [f"{node.module}.{a.name}" for a in node.names]
    return names


def test_keras_imports_nothing_from_distributed():
    files = sorted(KERAS.rglob("*.py"))
    assert len(files) > 50
    bad = {str(f.relative_to(ROOT)): name for f in files for name in _imports(f)
           if name == "lstmkit.distributed" or name.startswith("lstmkit.distributed.")}
    assert not bad
    dynamic = {str(f.relative_to(ROOT)): ast.unparse(call) for f in files for call in _dynamic_imports(f)
               if "distributed" in ast.unparse(call)}
    assert not dynamic


def _dynamic_imports(path: Path) -> list[ast.Call]:
    """The ``importlib.import_module(...)``/``__import__(...)`` calls of the file."""
    calls = [n for n in ast.walk(ast.parse(path.read_text(), str(path))) if isinstance(n, ast.Call)]
    return [c for c in calls if (c.func.attr if isinstance(c.func, ast.Attribute) else getattr(c.func, "id", ""))
            in ("import_module", "__import__")]


def test_distributed_true_loads_ddp_without_importing_distributed_first():
    code = ("import sys; from lstmkit.keras.models.strategy import resolve_strategy; "
            "assert 'lstmkit.distributed' not in sys.modules; s = resolve_strategy(True, None); "
            "print(type(s).__module__, type(s).__name__, s is resolve_strategy(False, 'DDP'))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["lstmkit.distributed.strategy", "DistributedStrategy", "True"]


def test_resolution():
    assert resolve_strategy(False, None) is None
    assert resolve_strategy(False, "local") is LOCAL
    mine = LocalStrategy()
    assert resolve_strategy(True, mine) is mine  # an explicit strategy wins over distributed=True
    with pytest.raises(TypeError, match="distributed must be True or False"):
        resolve_strategy(1, None)
    with pytest.raises(TypeError, match=r"strategy must be .*'ddp'.*got 'nope'"):
        resolve_strategy(False, "nope")
    with pytest.raises(TypeError, match="strategy must be"):
        resolve_strategy(False, object())
    with pytest.raises(ValueError, match="non-empty string"):
        register_strategy("", LocalStrategy)
    with pytest.raises(TypeError, match="callable"):
        register_strategy("x", 3)


def data(n: int = 24) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    x = rng.standard_normal((n, 5, 2)).astype("float32")
    return x, x[:, -1, :1] - 0.3 * x[:, 0, 1:]


def model(lr: float = 0.01) -> models.Model:
    utils.set_random_seed(0)
    m = models.Sequential([layers.Input((5, 2)), layers.LSTM(4), layers.Dense(1)])
    m.compile(optimizer=optimizers.Adam(learning_rate=lr), loss="mse", metrics=["mae"])
    return m


class Recording(Strategy):
    """A one-process strategy that records what the loop asks of it and runs a second, silent
    process's view: not the chief, so no progress bar and no CSVLogger."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    @property
    def is_chief(self) -> bool:
        return False

    def setup(self) -> Recording:
        self.calls.append("setup")
        return self

    def wrap_model(self, model):
        self.calls.append("wrap_model")
        return model

    def train_data(self, data):
        self.calls.append("train_data")
        return data

    def eval_data(self, data):
        self.calls.append("eval_data")
        return data, False

    def predict_data(self, data):
        self.calls.append("predict_data")
        return data, False

    def any_rank(self, flag):
        self.calls.append("any_rank")
        return bool(flag)

    def rank_callbacks(self, cbs):
        return [cb for cb in cbs if not isinstance(cb, callbacks.CSVLogger)]


def test_a_registered_strategy_runs_the_one_loop(tmp_path, capsys):
    rec = Recording()
    register_strategy("recording", lambda: rec)
    x, y = data()
    plain, other = model(), model()
    h1 = plain.fit(x, y, batch_size=6, epochs=2, shuffle=False, verbose=0, validation_split=0.25)
    log = tmp_path / "log.csv"
    h2 = other.fit(x, y, batch_size=6, epochs=2, shuffle=False, verbose=1, validation_split=0.25,
                   callbacks=[callbacks.CSVLogger(str(log))], strategy="Recording")
    assert capsys.readouterr().out == ""  # only the chief prints
    assert not log.exists()  # and runs the writers
    assert rec.calls[:4] == ["setup", "wrap_model", "train_data", "eval_data"]
    assert rec.calls.count("any_rank") == 2  # the stop decision of each epoch
    for key in h1.history:
        np.testing.assert_allclose(h1.history[key], h2.history[key], rtol=1e-6)
    for a, b in zip(plain.get_weights(), other.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert other.evaluate(x, y, verbose=0, strategy=rec) == pytest.approx(plain.evaluate(x, y, verbose=0))
    np.testing.assert_array_equal(other.predict(x, verbose=0, strategy=rec), plain.predict(x, verbose=0))
    assert rec.calls[-4:] == ["setup", "eval_data", "setup", "predict_data"]


def test_the_local_strategy_is_plain_fit():
    x, y = data()
    a = model()
    a.fit(x, y, batch_size=5, epochs=2, verbose=0)  # shuffled: each model is seeded right before its fit
    b = model()
    b.fit(x, y, batch_size=5, epochs=2, verbose=0, strategy=LocalStrategy())
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)


def test_nan_warning_points_at_the_fit_call():
    x, y = data()
    m = model(lr=1e30)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        m.fit(x, y * 1e30, batch_size=8, epochs=3, verbose=0)
    nan = [w for w in caught if "NaN/inf" in str(w.message)]
    assert nan and nan[0].filename == __file__
