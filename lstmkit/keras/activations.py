"""Keras activation functions on torch tensors (``lstmkit.keras.activations``).

``get(identifier)`` turns what a layer was given as ``activation=`` (a Keras name, a callable,
or None) into a torch function; ``serialize(fn)`` turns it back into the name a saved config
stores. The formulas are those of Keras 3 (``keras/src/activations``): for example ``gelu`` is
the exact (erf) GELU and ``hard_sigmoid`` is ``relu6(x + 3) / 6``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from lstmkit.keras.engine.registry import Resolver
from lstmkit.keras.engine.registry import serialize as _serialize_object

Activation = Callable[[torch.Tensor], torch.Tensor]


def _t(x: Any) -> torch.Tensor:
    """Tensors pass through; NumPy arrays and numbers become float32 tensors."""
    if isinstance(x, torch.Tensor):
        return x
    from lstmkit.keras.engine.layer import as_tensor

    x = as_tensor(x)
    return x if x.is_floating_point() else x.float()


def linear(x: Any) -> torch.Tensor:
    """Identity: ``activation=None`` means this."""
    return _t(x)


def relu(x: Any, negative_slope: float = 0.0, max_value: float | None = None, threshold: float = 0.0) -> torch.Tensor:
    """``max(x, 0)``; Keras' extras: a slope below ``threshold``, a ceiling ``max_value``."""
    x = _t(x)
    if negative_slope == 0.0 and max_value is None and threshold == 0.0:
        return torch.relu(x)
    if negative_slope != 0.0 and max_value is None and threshold == 0.0:
        return F.leaky_relu(x, negative_slope)
    negative_part = torch.relu(threshold - x) if negative_slope != 0.0 else None
    y = torch.where(x > threshold, x, torch.zeros_like(x)) if threshold != 0.0 else torch.relu(x)
    if max_value is not None:
        y = y.clamp(0.0, max_value)
    if negative_part is not None:
        y = y - negative_slope * negative_part
    return y


def leaky_relu(x: Any, negative_slope: float = 0.2) -> torch.Tensor:
    return F.leaky_relu(_t(x), negative_slope)


def relu6(x: Any) -> torch.Tensor:
    return F.relu6(_t(x))


def softmax(x: Any, axis: int = -1) -> torch.Tensor:
    """Softmax over ``axis`` (the last by default)."""
    return torch.softmax(_t(x), dim=axis)


def log_softmax(x: Any, axis: int = -1) -> torch.Tensor:
    return torch.log_softmax(_t(x), dim=axis)


def sigmoid(x: Any) -> torch.Tensor:
    """``1 / (1 + exp(-x))``."""
    return torch.sigmoid(_t(x))


def tanh(x: Any) -> torch.Tensor:
    return torch.tanh(_t(x))


def softplus(x: Any) -> torch.Tensor:
    return F.softplus(_t(x))


def softsign(x: Any) -> torch.Tensor:
    return F.softsign(_t(x))


def elu(x: Any, alpha: float = 1.0) -> torch.Tensor:
    return F.elu(_t(x), alpha)


def selu(x: Any) -> torch.Tensor:
    return F.selu(_t(x))


def gelu(x: Any, approximate: bool = False) -> torch.Tensor:
    """Exact (erf) GELU by default, as ``keras.activations.gelu``; ``approximate=True`` is tanh."""
    return F.gelu(_t(x), approximate="tanh" if approximate else "none")


def silu(x: Any) -> torch.Tensor:
    """``x * sigmoid(x)``, also called swish."""
    return F.silu(_t(x))


swish = silu


def hard_sigmoid(x: Any) -> torch.Tensor:
    """Keras 3: ``relu6(x + 3) / 6`` (0 below -3, 1 above 3)."""
    return F.hardsigmoid(_t(x))


def hard_silu(x: Any) -> torch.Tensor:
    """``x * hard_sigmoid(x)``, also called hard swish."""
    return F.hardswish(_t(x))


hard_swish = hard_silu


def exponential(x: Any) -> torch.Tensor:
    return torch.exp(_t(x))


def mish(x: Any) -> torch.Tensor:
    return F.mish(_t(x))


def log_sigmoid(x: Any) -> torch.Tensor:
    return F.logsigmoid(_t(x))


def hard_tanh(x: Any) -> torch.Tensor:
    return F.hardtanh(_t(x))


_BY_NAME: dict[str, Activation] = {
    fn.__name__: fn
    for fn in (linear, relu, leaky_relu, relu6, softmax, log_softmax, sigmoid, tanh, softplus, softsign, elu, selu,
               gelu, silu, hard_sigmoid, hard_silu, exponential, mish, log_sigmoid, hard_tanh)
}
_BY_NAME["swish"] = silu
_BY_NAME["hard_swish"] = hard_silu
_NAME_OF: dict[Any, str] = {fn: name for name, fn in _BY_NAME.items() if name not in ("swish", "hard_swish")}
# torch's own functions, passed directly as activation=, serialise under their Keras names.
_NAME_OF.update({torch.tanh: "tanh", torch.sigmoid: "sigmoid", torch.relu: "relu", F.relu: "relu",
                 torch.exp: "exponential", F.softplus: "softplus", F.softsign: "softsign", F.elu: "elu",
                 F.selu: "selu", F.silu: "silu", F.relu6: "relu6", F.hardsigmoid: "hard_sigmoid",
                 F.hardswish: "hard_silu", F.mish: "mish", F.logsigmoid: "log_sigmoid"})


_ACTIVATIONS = Resolver("activation", "a name, a callable or None", names=_BY_NAME, make=lambda fn, name: fn,
                        none=linear, type_error=TypeError)


def get(identifier: str | Callable[..., Any] | dict[str, Any] | None) -> Activation:
    """The activation function for ``identifier``: a Keras name ("relu", "tanh", ...), a
    callable (returned as is), a serialized form, or None (linear)."""
    if isinstance(identifier, dict):  # {"class_name": "function", "config": "relu"} or {"config": {"name": ...}}
        identifier = identifier.get("config", identifier.get("class_name"))
        if isinstance(identifier, dict):
            identifier = identifier.get("name")
    return _ACTIVATIONS.get(identifier)


def deserialize(config: Any) -> Activation:
    """Inverse of ``serialize``."""
    return get(config)


def serialize(activation: Callable[..., Any] | None) -> Any:
    """The name a config stores for an activation function (or the config of an object that
    has ``get_config``). A custom function cannot be saved by name: that raises ValueError."""
    if activation is None:
        return "linear"
    name = _NAME_OF.get(activation)
    if name is not None:
        return name
    if hasattr(activation, "get_config"):
        return _serialize_object(activation)
    raise ValueError(f"cannot serialize the custom activation {activation!r}: only the built-in activations "
                     f"{sorted(_BY_NAME)} can be saved by name")


__all__ = ["get", "serialize", "deserialize", *sorted(_BY_NAME)]
