"""The apps' checkpoints as ONNX files (``lstmkit export onnx CHECKPOINT OUT``).

Each app's network is exported as the app runs it, with an example input of its own kind:

- forecast: the Keras network, ``(batch, lookback, features)`` scaled windows in, its scaled
  forecasts out (the scaler is in ``app.json``; the lookback is fixed by the network's Input);
- sentiment: ``ids`` ``(batch, time)`` int64 post-padded token ids and ``lengths`` ``(batch,)``
  in, the ensemble's mean logit of class 1 ``(batch,)`` out;
- textgen: ``ids`` ``(batch, time)`` int64 character ids in, next-character logits
  ``(batch, time, vocab)`` and the final ``(h, c)`` out.

On the apps floor (docs/architecture.md): it loads the checkpoints with each app's own loader.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from lstmkit.errors import AppError
from lstmkit.export.onnx import require_onnx, to_onnx

EXAMPLE_BATCH, EXAMPLE_TIME = 2, 8


class _Ensemble(nn.Module):
    """The sentiment members as one module: the mean of their logits, as ``predict_logits``."""

    def __init__(self, members: nn.ModuleList):
        super().__init__()
        self.members = members

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return torch.stack([m(ids, lengths) for m in self.members]).mean(0)  # (B,)


class _Logits(nn.Module):
    """The textgen network with a flat output: logits, h, c."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        with self.net.score_kernels():  # float32 products, whatever precision it trained with
            logits, (h, c) = self.net(ids)
        return logits, h, c


def _forecast(path: Path) -> tuple[nn.Module, tuple[torch.Tensor, ...], list[str]]:
    from lstmkit.apps.forecast.model import Forecaster

    model = Forecaster.load(path).model_
    _, lookback, features = model.inputs[0].shape
    return model, (torch.zeros(EXAMPLE_BATCH, lookback, features),), ["window"]


def _sentiment(path: Path) -> tuple[nn.Module, tuple[torch.Tensor, ...], list[str]]:
    from lstmkit.apps.sentiment.model import SentimentClassifier

    clf = SentimentClassifier.load(path)
    ids = torch.randint(1, clf.config.num_words, (EXAMPLE_BATCH, EXAMPLE_TIME))
    return _Ensemble(clf.model), (ids, torch.full((EXAMPLE_BATCH,), EXAMPLE_TIME)), ["ids", "lengths"]


def _textgen(path: Path) -> tuple[nn.Module, tuple[torch.Tensor, ...], list[str]]:
    from lstmkit.apps.textgen.model import TextGenerator

    generator, _ = TextGenerator.load(path)
    ids = torch.randint(0, generator.model.vocab_size, (EXAMPLE_BATCH, EXAMPLE_TIME))
    return _Logits(generator.model), (ids,), ["ids"]


LOADERS: dict[str, Callable[[Path], tuple[nn.Module, tuple[torch.Tensor, ...], list[str]]]] = {
    "forecast": _forecast, "sentiment": _sentiment, "textgen": _textgen}


def checkpoint_app(path: str | Path) -> str:
    """The app that wrote the checkpoint folder ``path`` (from its ``app.json``)."""
    meta = Path(path) / "app.json"
    try:
        app = json.loads(meta.read_text(encoding="utf-8")).get("app")
    except FileNotFoundError:
        raise AppError(f"no checkpoint at {path}: expected a folder with app.json") from None
    except (OSError, ValueError, AttributeError) as exc:
        raise AppError(f"{meta} is not a valid lstmkit checkpoint file ({exc})") from None
    if app not in LOADERS:
        raise AppError(f"{path} is a {app!r} checkpoint; ONNX export knows {', '.join(LOADERS)}")
    return app


def export_checkpoint(path: str | Path, out: str | Path, dynamic: bool = True) -> Path:
    """Write the network of the app checkpoint ``path`` to the ONNX file ``out``; returns it."""
    require_onnx()
    module, example, names = LOADERS[checkpoint_app(path)](Path(path))
    torch.manual_seed(0)
    return to_onnx(module, example, out, dynamic, input_names=names)
