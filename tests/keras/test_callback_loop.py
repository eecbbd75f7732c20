"""The callback hooks of real fit/evaluate/predict runs against Keras 3: the same tiny model, data
and calls run in both with a callback that records every hook; the event sequences (hook, batch or
epoch index, logs keys, params) must be equal. Also ``ProgbarLogger`` in the loop and the
``model.stop_training`` / ``stop_evaluating`` / ``stop_predicting`` flags."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from lstmkit import keras as lk

pytestmark = [pytest.mark.usefixtures("one_thread"),
              pytest.mark.filterwarnings("ignore:__array__ implementation doesn:DeprecationWarning")]

HOOKS = ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end", "on_train_batch_begin",
         "on_train_batch_end", "on_test_begin", "on_test_end", "on_test_batch_begin", "on_test_batch_end",
         "on_predict_begin", "on_predict_end", "on_predict_batch_begin", "on_predict_batch_end", "on_batch_begin",
         "on_batch_end")
WITH_INDEX = {h for h in HOOKS if "batch" in h or "epoch" in h}


def recorder_class(base: type, stop: dict[str, tuple[int, int]] | None = None) -> type:
    """A Callback subclass of ``base`` recording ``(hook, index, logs keys, params)``; ``stop`` maps a
    flag ("stop_training", "stop_evaluating", "stop_predicting") to (call number, batch) at which
    the matching batch-end hook sets it."""
    stop = stop or {}
    flag_of = {"on_train_batch_end": "stop_training", "on_test_batch_end": "stop_evaluating",
               "on_predict_batch_end": "stop_predicting"}

    def make(hook: str):
        def method(self, *args, **kwargs):
            logs = kwargs.get("logs", args[1] if hook in WITH_INDEX and len(args) > 1 else
                              (args[0] if hook not in WITH_INDEX and args else None))
            index = args[0] if hook in WITH_INDEX else None
            self.events.append((hook, index, None if logs is None else sorted(logs), dict(self.params or {})))
            flag = flag_of.get(hook)
            if flag in stop:
                self.calls[hook] = self.calls.get(hook, 0) + (index == 0)
                if (self.calls[hook], index) == stop[flag]:
                    setattr(self.model, flag, True)
            return getattr(base, hook)(self, *args, **kwargs)
        return method

    def __init__(self):
        base.__init__(self)
        self.events = []
        self.calls = {}

    return type("Recorder", (base,), {"__init__": __init__, **{h: make(h) for h in HOOKS}})


def run(lib, verbose, stop=None, validation_freq=1):
    layers = lib.layers
    model = lib.Sequential([lib.Input((3,)), layers.Dense(2, activation="relu"), layers.Dense(1)])
    model.compile("sgd", "mse", metrics=["mae"])
    rec = recorder_class(lib.callbacks.Callback, stop)()
    rng = np.random.RandomState(0)
    x, y = rng.rand(10, 3).astype("float32"), rng.rand(10, 1).astype("float32")
    model.fit(x, y, batch_size=4, epochs=3, validation_data=(x[:5], y[:5]), validation_freq=validation_freq,
              callbacks=[rec], verbose=verbose)
    model.evaluate(x, y, batch_size=3, callbacks=[rec], verbose=verbose)
    model.predict(x, batch_size=6, callbacks=[rec], verbose=verbose)
    model.evaluate(x, y, callbacks=[rec])  # verbose="auto" reaches params as given
    return rec.events, model


CASES = {
    "plain": {},
    "stop_training_mid_epoch": {"stop": {"stop_training": (2, 1)}},
    "stop_evaluating_and_predicting": {"stop": {"stop_evaluating": (1, 0), "stop_predicting": (1, 0)}},
    "validation_freq": {"validation_freq": [2, 3]},
}


@pytest.mark.parametrize("verbose", [0, 2])
@pytest.mark.parametrize("case", sorted(CASES))
def test_hook_sequence_logs_and_params_equal_keras(case, verbose, capsys):
    ours, _ = run(lk, verbose, **CASES[case])
    theirs, _ = run(keras, verbose, **CASES[case])
    assert [e[:2] for e in ours] == [e[:2] for e in theirs]  # the event names and indices, exactly
    assert ours == theirs  # and per event the logs keys and params


def test_hooks_see_the_model_and_stop_training_in_on_epoch_begin_stops_after_one_batch():
    seen = []

    class Stopper(lk.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            seen.append(self.model)
            self.model.stop_training = True

        def on_train_batch_end(self, batch, logs=None):
            seen.append(batch)

    model = lk.Sequential([lk.Input((3,)), lk.layers.Dense(1)])
    model.compile("sgd", "mse")
    history = model.fit(np.ones((8, 3)), np.ones((8, 1)), batch_size=2, epochs=5, verbose=0, callbacks=[Stopper()])
    assert seen == [model, 0] and history.epoch == [0]


@pytest.mark.parametrize("where", ["fit", "evaluate", "predict"])
def test_progbar_logger_draws_the_only_bar(where, capsys):
    model = lk.Sequential([lk.Input((3,)), lk.layers.Dense(1)])
    model.compile("sgd", "mse")
    x, y = np.ones((8, 3), "float32"), np.ones((8, 1), "float32")
    bar = lk.callbacks.ProgbarLogger()
    if where == "fit":
        model.fit(x, y, batch_size=2, epochs=2, verbose=1, callbacks=[bar])
    elif where == "evaluate":
        model.evaluate(x, y, batch_size=2, verbose=1, callbacks=[bar])
    else:
        model.predict(x, batch_size=2, verbose=1, callbacks=[bar])
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if "4/4" in line]
    assert len(lines) == (2 if where == "fit" else 1), out  # one bar per epoch, none drawn by the loop too
    assert ("Epoch 1/2" in out) == (where == "fit")
    if where != "predict":
        assert "loss:" in lines[-1]
    assert bar.params == {"verbose": 1, "epochs": 2 if where == "fit" else 1, "steps": 4}


def test_progbar_logger_silent_at_verbose_0(capsys):
    model = lk.Sequential([lk.Input((3,)), lk.layers.Dense(1)])
    model.compile("sgd", "mse")
    model.fit(np.ones((4, 3)), np.ones((4, 1)), verbose=0, callbacks=[lk.callbacks.ProgbarLogger()])
    assert capsys.readouterr().out == ""


def test_callback_list_keras_signature_and_progbar():
    rec = lk.callbacks.Callback()
    cbs = lk.callbacks.CallbackList([rec], add_history=True, add_progbar=True, model=None, epochs=3, steps=7,
                                    verbose=0)
    assert rec.params == {"epochs": 3, "steps": 7, "verbose": 0}
    assert [type(cb).__name__ for cb in cbs.callbacks] == ["Callback", "History", "ProgbarLogger"]
    with pytest.raises(TypeError, match="both params= and parameter keywords"):
        lk.callbacks.CallbackList([rec], params={"epochs": 1}, steps=2)


def test_bad_verbose_is_refused_before_training():
    model = lk.Sequential([lk.Input((3,)), lk.layers.Dense(1)])
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match="verbose must be 'auto', 0, 1 or 2, got 3"):
        model.fit(np.ones((4, 3)), np.ones((4, 1)), verbose=3)
