"""The distributed code path with one process (no torchrun): it must train exactly like plain
``fit``, and its helpers must read the torchrun environment correctly."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from lstmkit.distributed import DistributedStrategy, env
from lstmkit.distributed.strategy import is_rank0_only, resolve
from lstmkit.keras import callbacks, layers, models, optimizers, utils


@pytest.fixture(autouse=True)
def _single_process(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TORCHELASTIC_RUN_ID", "LOCAL_RANK", "WORLD_SIZE", "RANK", env.TIMEOUT_ENV):
        monkeypatch.delenv(name, raising=False)


def data(n: int = 30) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((n, 6, 2)).astype("float32")
    return x, x[:, -1, :1] * 0.5 + x[:, 0, 1:] * 0.2


def model(seed: int = 0, lr: float = 0.01) -> models.Model:
    utils.set_random_seed(seed)
    m = models.Sequential([layers.Input((6, 2)), layers.LSTM(5), layers.Dense(1)])
    m.compile(optimizer=optimizers.Adam(learning_rate=lr), loss="mse", metrics=["mae"])
    return m


def assert_same_weights(a: models.Model, b: models.Model, tol: float = 1e-6) -> None:
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, atol=tol, rtol=0)


def test_distributed_true_alone_trains_like_plain_fit():
    x, y = data()
    plain, dist = model(), model()
    h1 = plain.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0, validation_split=0.2)
    h2 = dist.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0, validation_split=0.2, distributed=True)
    assert_same_weights(plain, dist)
    assert h1.history.keys() == h2.history.keys()
    for key in h1.history:
        np.testing.assert_allclose(h1.history[key], h2.history[key], rtol=1e-6)
    np.testing.assert_allclose(plain.predict(x, verbose=0), dist.predict(x, verbose=0, distributed=True), atol=1e-7)
    e1 = plain.evaluate(x, y, verbose=0, return_dict=True)
    e2 = dist.evaluate(x, y, verbose=0, return_dict=True, strategy=DistributedStrategy())
    assert e1 == pytest.approx(e2, rel=1e-6)


def test_seeded_shuffle_is_reproducible():
    x, y = data()
    a, b = model(), model()
    utils.set_random_seed(5)
    a.fit(x, y, batch_size=6, epochs=2, verbose=0, distributed=True)
    utils.set_random_seed(5)
    b.fit(x, y, batch_size=6, epochs=2, verbose=0, distributed=True)
    assert_same_weights(a, b, 0.0)


def test_multi_output_losses_are_tracked():
    x, y = data()

    def two_heads():
        utils.set_random_seed(0)
        inp = layers.Input((6, 2))
        h = layers.LSTM(4)(inp)
        m = models.Model(inp, [layers.Dense(1, name="a")(h), layers.Dense(1, name="b")(h)])
        m.compile(optimizer="adam", loss=["mse", "mae"], loss_weights=[1.0, 0.5])
        return m

    plain, dist = two_heads(), two_heads()
    h1 = plain.fit(x, [y, -y], batch_size=10, epochs=2, shuffle=False, verbose=0)
    h2 = dist.fit(x, [y, -y], batch_size=10, epochs=2, shuffle=False, verbose=0, distributed=True)
    assert set(h2.history) == {"loss", "a_loss", "b_loss"}
    for key in h1.history:
        np.testing.assert_allclose(h1.history[key], h2.history[key], rtol=1e-6)
    assert_same_weights(plain, dist)


def test_generators_and_steps_per_epoch():
    x, y = data()

    def batches():
        while True:
            for i in range(0, 30, 10):
                yield x[i:i + 10], y[i:i + 10]

    m = model()
    hist = m.fit(batches(), steps_per_epoch=3, epochs=2, verbose=0, distributed=True)
    assert len(hist.history["loss"]) == 2
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y)),
                                         batch_size=8)
    assert len(m.fit(loader, epochs=1, verbose=0, distributed=True).history["loss"]) == 1
    assert len(m.fit(x, y, batch_size=4, steps_per_epoch=2, epochs=2, verbose=0, distributed=True).history["mae"]) == 2


def test_callbacks_stop_training_in_the_distributed_loop():
    x, y = data()
    m = model()
    stop = callbacks.EarlyStopping(monitor="loss", patience=0, min_delta=10.0)
    assert len(m.fit(x, y, epochs=5, batch_size=10, verbose=0, callbacks=[stop], distributed=True).history["loss"]) == 2

    class StopAtBatch(callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            assert set(logs) == {"loss", "mae"}
            if batch == 1:
                self.model.stop_training = True

    hist = m.fit(x, y, epochs=3, batch_size=5, verbose=0, callbacks=[StopAtBatch()], distributed=True)
    assert len(hist.history["loss"]) == 1


def test_nan_loss_stops_with_a_warning():
    x, y = data()
    m = model(lr=1e30)
    y = y * 1e30
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        m.fit(x, y, batch_size=10, epochs=3, verbose=0, distributed=True)
    assert any("NaN/inf" in str(w.message) for w in caught)
    assert m.stop_training


def test_progress_bar_prints_on_rank_zero(capsys):
    x, y = data()
    model().fit(x, y, batch_size=10, epochs=2, verbose=1, distributed=True)
    out = capsys.readouterr().out
    assert "Epoch 2/2" in out and "loss:" in out


def test_writers_run_on_rank_zero_only(monkeypatch, tmp_path):
    writers = [callbacks.CSVLogger(str(tmp_path / "a.csv")), callbacks.ModelCheckpoint(str(tmp_path / "m.keras"))]
    early = callbacks.EarlyStopping()

    class Mine(callbacks.CSVLogger):
        pass

    class Opt(callbacks.Callback):
        rank0_only = True

    assert all(is_rank0_only(cb) for cb in [*writers, Mine(str(tmp_path / "b.csv")), Opt()])
    assert not is_rank0_only(early)
    strategy = DistributedStrategy()
    assert strategy.rank_callbacks([*writers, early]) == [*writers, early]
    monkeypatch.setenv("RANK", "1")
    assert not strategy.is_main
    assert strategy.rank_callbacks([*writers, early, Opt()]) == [early]


def test_environment_helpers(monkeypatch):
    assert (env.world_size(), env.rank(), env.local_rank()) == (1, 0, 0)
    assert not env.is_distributed() and env.is_main_process() and not env.in_torchrun_worker()
    assert not env.init_process_group()  # one process: nothing to join
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("RANK", "2")
    monkeypatch.setenv("LOCAL_RANK", "0")
    assert (env.world_size(), env.rank()) == (4, 2)
    assert env.is_distributed() and not env.is_main_process() and env.in_torchrun_worker()
    monkeypatch.setenv("RANK", "x")
    with pytest.raises(ValueError, match="RANK must be an integer"):
        env.rank()
    assert env.timeout().total_seconds() == env.DEFAULT_TIMEOUT_S
    monkeypatch.setenv(env.TIMEOUT_ENV, "12.5")
    assert env.timeout().total_seconds() == 12.5
    monkeypatch.setenv(env.TIMEOUT_ENV, "-1")
    with pytest.raises(ValueError, match="must be positive"):
        env.timeout()


def test_init_without_torchrun_variables_is_explained(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.delenv("MASTER_ADDR", raising=False)
    with pytest.raises(RuntimeError, match="launch the job with torchrun"):
        env.init_process_group()


def test_bad_arguments():
    m = model()
    x, y = data()
    with pytest.raises(TypeError, match="distributed must be True or False"):
        m.fit(x, y, distributed="yes")
    with pytest.raises(TypeError, match="strategy must be"):
        m.fit(x, y, strategy=42)
    with pytest.raises(ValueError, match="backend must be"):
        DistributedStrategy(backend="mpi")
    with pytest.raises(ValueError, match="timeout_s"):
        DistributedStrategy(timeout_s=0)
    assert resolve(False, None) is None
    assert isinstance(resolve(False, "ddp"), DistributedStrategy)
    assert "world_size=1" in repr(DistributedStrategy())


def test_predict_needs_no_compile_and_subclassed_models_must_be_built():
    x, _ = data()
    utils.set_random_seed(0)
    m = models.Sequential([layers.Input((6, 2)), layers.LSTM(3), layers.Dense(1)])
    assert m.predict(x, verbose=0, distributed=True).shape == (30, 1)

    class Sub(models.Model):
        def __init__(self):
            super().__init__()
            self.lstm, self.out = layers.LSTM(3), layers.Dense(1)

        def call(self, inputs):
            return self.out(self.lstm(inputs))

    def batches():
        yield x[:10], x[:10, 0, :1]

    sub = Sub()
    sub.compile(optimizer="adam", loss="mse")
    with pytest.raises(ValueError, match="needs a built model"):
        sub.fit(batches(), epochs=1, verbose=0, distributed=True)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_distributed_true_alone_keeps_a_cuda_model_on_its_gpu():
    x, y = data()
    plain, dist = model().to("cuda"), model().to("cuda")
    plain.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0, validation_split=0.2)
    dist.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0, validation_split=0.2, distributed=True)
    assert all(p.device.type == "cuda" for p in dist.parameters())
    assert_same_weights(plain, dist, 1e-5)
    np.testing.assert_allclose(plain.predict(x, verbose=0), dist.predict(x, verbose=0, distributed=True), atol=1e-6)
    assert plain.evaluate(x, y, verbose=0) == pytest.approx(dist.evaluate(x, y, verbose=0, distributed=True), rel=1e-5)


def test_stop_before_an_epoch_still_trains_its_first_batch_as_plain_fit_does():
    x, y = data()

    class StopEarly(callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.model.stop_training = True

    plain, dist = model(), model()
    h1 = plain.fit(x, y, batch_size=10, epochs=3, shuffle=False, verbose=0, callbacks=[StopEarly()])
    h2 = dist.fit(x, y, batch_size=10, epochs=3, shuffle=False, verbose=0, callbacks=[StopEarly()], distributed=True)
    assert len(h1.history["loss"]) == len(h2.history["loss"]) == 1
    assert_same_weights(plain, dist)


def test_an_exhausted_generator_ends_training_with_a_warning():
    x, y = data()
    m = model()
    gen = ((x[i:i + 10], y[i:i + 10]) for i in range(0, 30, 10))
    with pytest.warns(RuntimeWarning, match="ran out of data"):
        hist = m.fit(gen, epochs=3, verbose=0, distributed=True)
    assert len(hist.history["loss"]) == 1
