"""``BackupAndRestore`` against real kills: a training script kills its own process (``os._exit``,
no clean-up, as SIGKILL) after an epoch or a batch; the same script run again resumes from the
backup. With ``save_freq="epoch"`` the final weights equal those of a run never stopped, bit for
bit (shuffle=True and dropout: the optimizer state and random generators are restored too); with
``save_freq=N`` the resumed fit restarts the epoch in progress from the backed-up weights (Keras'
semantics). The Keras 3 test cases themselves are in tests/keras_compat/test_callbacks.py."""

from __future__ import annotations

import json
import os
import runpy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lstmkit.keras import Input, Sequential, callbacks, layers

pytestmark = pytest.mark.usefixtures("one_thread")

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = '''
import os, sys
import numpy as np
import torch
torch.set_num_threads(1)  # the same float sums in a fresh process and in the test process
from lstmkit.keras import Input, Sequential, callbacks, layers
from lstmkit.keras.utils import set_random_seed

backup, out, kill, save_freq = sys.argv[1:5]
save_freq = save_freq if save_freq == "epoch" else int(save_freq)
kind, _, at = kill.partition(":")
set_random_seed(0)
x = np.random.RandomState(1).rand(20, 4).astype("float32")
y = np.random.RandomState(2).rand(20, 1).astype("float32")
model = Sequential([Input((4,)), layers.Dense(8, activation="relu"), layers.Dropout(0.5), layers.Dense(1)])
model.compile("adam", "mse")


def dump(name):
    np.savez(os.path.join(out, name), *model.get_weights(), iterations=model.optimizer.iterations)


class Kill(callbacks.Callback):
    batches = 0

    def on_train_begin(self, logs=None):
        dump("begin.npz")  # after BackupAndRestore (listed first) restored the state

    def on_epoch_end(self, epoch, logs=None):
        if kind == "epoch" and epoch == int(at):
            dump("killed.npz")
            os._exit(3)

    def on_train_batch_end(self, batch, logs=None):
        Kill.batches += 1
        if kind == "batch" and Kill.batches == int(at):
            dump("killed.npz")
            os._exit(3)


cbs = [callbacks.BackupAndRestore(backup, save_freq=save_freq)] if backup != "-" else []
history = model.fit(x, y, batch_size=4, epochs=5, shuffle=True, verbose=0, callbacks=cbs + [Kill()])
np.savez(os.path.join(out, "final.npz"), *model.get_weights(), epochs=np.array(history.epoch))
'''


def _script(tmp_path: Path) -> Path:
    path = tmp_path / "train.py"
    path.write_text(SCRIPT)
    return path


def _run(script: Path, *args: str) -> int:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, str(script), *args], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode in (0, 3), done.stderr[-3000:]
    return done.returncode


def _in_process(script: Path, *args: str) -> None:
    argv = sys.argv
    sys.argv = [str(script), *args]
    try:
        runpy.run_path(str(script), run_name="__main__")
    finally:
        sys.argv = argv


def _arrays(path: Path) -> list[np.ndarray]:
    with np.load(path) as f:
        return [f[k] for k in f.files if k.startswith("arr_")]


def _same(a: list[np.ndarray], b: list[np.ndarray]) -> bool:
    return len(a) == len(b) and all(np.array_equal(u, v) for u, v in zip(a, b))


def test_killed_fit_resumes_bit_identically_after_an_epoch(tmp_path):
    script, backup = _script(tmp_path), tmp_path / "backup"
    (tmp_path / "ref").mkdir()
    (tmp_path / "run").mkdir()
    _in_process(script, "-", str(tmp_path / "ref"), "none", "epoch")  # never stopped
    assert _run(script, str(backup), str(tmp_path / "run"), "epoch:1", "epoch") == 3  # killed after epoch 2 of 5
    assert json.loads((backup / "training_metadata.json").read_text()) == {"epoch": 2, "batch": 0}
    assert [p.name for p in backup.iterdir() if p.name.endswith(".part")] == []  # atomic writes left no parts
    assert _run(script, str(backup), str(tmp_path / "run"), "none", "epoch") == 0  # the same script again
    killed, begin = np.load(tmp_path / "run" / "killed.npz"), np.load(tmp_path / "run" / "begin.npz")
    assert _same(_arrays(tmp_path / "run" / "begin.npz"), _arrays(tmp_path / "run" / "killed.npz"))
    assert int(begin["iterations"]) == int(killed["iterations"]) == 10  # Adam's step count came back
    final = np.load(tmp_path / "run" / "final.npz")
    assert final["epochs"].tolist() == [2, 3, 4]  # only the epochs left ran
    assert _same(_arrays(tmp_path / "run" / "final.npz"), _arrays(tmp_path / "ref" / "final.npz"))
    assert not backup.exists()  # delete_checkpoint=True once fit completed


def test_killed_fit_with_batch_backups_restarts_the_epoch_from_the_last_backup(tmp_path):
    script, backup = _script(tmp_path), tmp_path / "backup"
    (tmp_path / "run").mkdir()
    # 5 batches an epoch, a backup every 2 counted as Keras counts (the count restarts at batch 0 of an
    # epoch): batches 1 and 3 of epoch 0, batch 0 of epoch 1 (the 6th batch), then the kill
    assert _run(script, str(backup), str(tmp_path / "run"), "batch:6", "2") == 3
    assert json.loads((backup / "training_metadata.json").read_text()) == {"epoch": 1, "batch": 0}
    killed = _arrays(tmp_path / "run" / "killed.npz")
    _in_process(script, str(backup), str(tmp_path / "run"), "none", "2")
    assert _same(_arrays(tmp_path / "run" / "begin.npz"), killed)
    assert int(np.load(tmp_path / "run" / "begin.npz")["iterations"]) == 6
    assert np.load(tmp_path / "run" / "final.npz")["epochs"].tolist() == [1, 2, 3, 4]


def _model():
    model = Sequential([Input((3,)), layers.Dense(2), layers.Dense(1)])
    model.compile("sgd", "mse")
    return model


def test_unreadable_backup_is_a_clear_error_or_falls_back_to_the_previous_one(tmp_path):
    x, y = np.ones((4, 3), "float32"), np.ones((4, 1), "float32")
    cb = callbacks.BackupAndRestore(tmp_path / "b", delete_checkpoint=False)
    _model().fit(x, y, epochs=2, verbose=0, callbacks=[cb])
    Path(cb._weights_path).write_bytes(b"0")
    with pytest.raises(ValueError, match="latest.weights.h5.* is not a readable backup"):
        _model().fit(x, y, epochs=3, verbose=0, callbacks=[cb])
    cb2 = callbacks.BackupAndRestore(tmp_path / "c", double_checkpoint=True, delete_checkpoint=False)
    model = _model()
    model.fit(x, y, epochs=2, verbose=0, callbacks=[cb2])
    Path(cb2._weights_path).write_bytes(b"0")
    history = _model().fit(x, y, epochs=3, verbose=0, callbacks=[cb2])
    assert history.epoch == [1, 2]  # the previous backup (after epoch 0) was used


def test_backup_of_another_model_is_refused(tmp_path):
    x, y = np.ones((4, 3), "float32"), np.ones((4, 1), "float32")
    cb = callbacks.BackupAndRestore(tmp_path / "b", delete_checkpoint=False)
    _model().fit(x, y, epochs=1, verbose=0, callbacks=[cb])
    other = Sequential([Input((3,)), layers.Dense(1)])
    other.compile("sgd", "mse")
    with pytest.raises(ValueError, match="expects 2 weight arrays, got 4"):
        other.fit(x, y, epochs=2, verbose=0, callbacks=[cb])


def test_restored_epoch_is_used_once(tmp_path):
    x, y = np.ones((4, 3), "float32"), np.ones((4, 1), "float32")
    model = _model()
    cb = callbacks.BackupAndRestore(tmp_path / "b", delete_checkpoint=False)
    model.fit(x, y, epochs=2, verbose=0, callbacks=[cb])
    assert model.fit(x, y, epochs=3, verbose=0, callbacks=[cb]).epoch == [2]
    assert model.fit(x, y, epochs=2, verbose=0).epoch == [0, 1]  # no callback: from initial_epoch again
