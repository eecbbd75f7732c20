"""A Keras-compatible front end on PyTorch: change ``tensorflow.keras`` to ``lstmkit.keras``
and Keras code runs on lstmkit's layers (``from lstmkit.keras.layers import LSTM, Dense``,
``from lstmkit.keras.models import Sequential``, ...).

Submodules mirror tensorflow.keras: layers, models, optimizers, losses, metrics, callbacks,
regularizers, initializers, constraints, activations, utils, preprocessing, backend, datasets, ops, random,
saving, tree (``keras.device`` is the backend's device scope). They are
imported on first use.
"""

from __future__ import annotations

from lstmkit._lazy import lazy_exports
from lstmkit.keras.engine import registry as _registry

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {"Sequential": "models", "Model": "models", "Input": "engine.input_layer", "Layer": "engine.layer",
     "clear_session": "engine.layer", "device": "backend"},
    submodules=("layers", "models", "optimizers", "losses", "metrics", "callbacks", "regularizers", "initializers",
                "constraints", "activations", "utils", "preprocessing", "backend", "datasets", "ops", "random",
                "saving", "tree"),
)


def _weight_options() -> None:
    """Import the families that ``Layer.add_weight`` resolves names through (they register themselves)."""
    from lstmkit.keras import constraints, initializers, regularizers  # noqa: F401


for _kind in ("initializer", "regularizer", "constraint"):
    _registry.add_loader("resolver:" + _kind, _weight_options)


def _ops() -> None:
    """Import keras.ops, which resolves the operators of symbolic tensors (``x + inputs``)."""
    from lstmkit.keras import ops  # noqa: F401


_registry.add_loader("resolver:symbolic_op", _ops)
