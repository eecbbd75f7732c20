"""The Keras loss classes (``losses.MeanSquaredError()`` ...): a per-sample function from
``functions.py`` plus Keras' reduction. Names and defaults are Keras 3's.

Every class takes ``reduction`` (default "sum_over_batch_size"), ``name`` and ``dtype`` as
documented on ``Loss``; only the extra arguments are listed per class.
"""

from __future__ import annotations

from typing import Any

from lstmkit.keras.engine.registry import register
from lstmkit.keras.losses import functions as fn
from lstmkit.keras.losses.base import Loss, LossFunctionWrapper

__all__ = ["MeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError", "MeanSquaredLogarithmicError",
           "Huber", "LogCosh", "BinaryCrossentropy", "CategoricalCrossentropy", "SparseCategoricalCrossentropy",
           "KLDivergence", "Poisson", "Hinge", "SquaredHinge", "CategoricalHinge", "CosineSimilarity"]

_R = "sum_over_batch_size"


class _Builtin(LossFunctionWrapper):
    """A built-in loss: its config holds its own arguments, not the function."""

    _fn: Any = None
    _args: tuple[str, ...] = ()

    def __init__(self, reduction: Any = _R, name: str | None = None, dtype: Any = None, **kwargs: Any):
        super().__init__(type(self)._fn, reduction=reduction, name=name, dtype=dtype, **kwargs)
        for key, value in kwargs.items():
            setattr(self, key, value)

    def get_config(self) -> dict[str, Any]:
        return {**Loss.get_config(self), **{key: getattr(self, key) for key in self._args}}

    def __repr__(self) -> str:
        return Loss.__repr__(self)


def _simple(cls_name: str, function: Any, default_name: str, doc: str) -> type[_Builtin]:
    def __init__(self, reduction: Any = _R, name: str = default_name, dtype: Any = None):
        _Builtin.__init__(self, reduction=reduction, name=name, dtype=dtype)

    cls = type(cls_name, (_Builtin,), {"__init__": __init__, "_fn": staticmethod(function), "__doc__": doc,
                                       "__module__": __name__})
    return register("loss")(cls)


MeanSquaredError = _simple("MeanSquaredError", fn.mean_squared_error, "mean_squared_error",
                           "Mean of squared errors: ``mean((y_true - y_pred) ** 2)``.")
MeanAbsoluteError = _simple("MeanAbsoluteError", fn.mean_absolute_error, "mean_absolute_error",
                            "Mean of absolute errors: ``mean(abs(y_true - y_pred))``.")
MeanAbsolutePercentageError = _simple("MeanAbsolutePercentageError", fn.mean_absolute_percentage_error,
                                      "mean_absolute_percentage_error",
                                      "``100 * mean(abs((y_true - y_pred) / y_true))`` (denominator >= epsilon).")
MeanSquaredLogarithmicError = _simple("MeanSquaredLogarithmicError", fn.mean_squared_logarithmic_error,
                                      "mean_squared_logarithmic_error",
                                      "``mean((log(y_pred + 1) - log(y_true + 1)) ** 2)``.")
LogCosh = _simple("LogCosh", fn.log_cosh, "log_cosh", "``mean(log(cosh(y_pred - y_true)))``.")
KLDivergence = _simple("KLDivergence", fn.kl_divergence, "kl_divergence",
                       "Kullback-Leibler divergence ``sum(y_true * log(y_true / y_pred))``.")
Poisson = _simple("Poisson", fn.poisson, "poisson", "``mean(y_pred - y_true * log(y_pred))``.")
Hinge = _simple("Hinge", fn.hinge, "hinge", "``mean(max(1 - y_true * y_pred, 0))``, labels -1/1 (or 0/1).")
SquaredHinge = _simple("SquaredHinge", fn.squared_hinge, "squared_hinge",
                       "``mean(max(1 - y_true * y_pred, 0) ** 2)``, labels -1/1 (or 0/1).")
CategoricalHinge = _simple("CategoricalHinge", fn.categorical_hinge, "categorical_hinge",
                           "``max(0, 1 + max((1 - y_true) * y_pred) - sum(y_true * y_pred))``.")


@register("loss")
class Huber(_Builtin):
    """Huber loss: quadratic for errors up to ``delta``, linear beyond.

    Args:
        delta: the error size where the loss turns from quadratic to linear.
    """

    _fn = staticmethod(fn.huber)
    _args = ("delta",)

    def __init__(self, delta: float = 1.0, reduction: Any = _R, name: str = "huber_loss", dtype: Any = None):
        super().__init__(reduction=reduction, name=name, dtype=dtype, delta=delta)


@register("loss")
class CosineSimilarity(_Builtin):
    """Negative cosine similarity (a loss: -1 is best).

    Args:
        axis: the axis along which the similarity is computed.
    """

    _fn = staticmethod(fn.cosine_similarity)
    _args = ("axis",)

    def __init__(self, axis: int = -1, reduction: Any = _R, name: str = "cosine_similarity", dtype: Any = None):
        super().__init__(reduction=reduction, name=name, dtype=dtype, axis=axis)


@register("loss")
class BinaryCrossentropy(_Builtin):
    """Binary crossentropy for 0/1 labels (one or several independent outputs).

    Args:
        from_logits: ``y_pred`` holds logits instead of probabilities.
        label_smoothing: in [0, 1]; labels become ``y * (1 - s) + 0.5 * s``.
        axis: the axis averaged over.
    """

    _fn = staticmethod(fn.binary_crossentropy)
    _args = ("from_logits", "label_smoothing", "axis")

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1, reduction: Any = _R,
                 name: str = "binary_crossentropy", dtype: Any = None):
        _check_smoothing(label_smoothing)
        super().__init__(reduction=reduction, name=name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)


@register("loss")
class CategoricalCrossentropy(_Builtin):
    """Crossentropy for one-hot labels.

    Args:
        from_logits: ``y_pred`` holds logits instead of probabilities.
        label_smoothing: in [0, 1]; labels become ``y * (1 - s) + s / num_classes``.
        axis: the class axis.
    """

    _fn = staticmethod(fn.categorical_crossentropy)
    _args = ("from_logits", "label_smoothing", "axis")

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1, reduction: Any = _R,
                 name: str = "categorical_crossentropy", dtype: Any = None):
        _check_smoothing(label_smoothing)
        super().__init__(reduction=reduction, name=name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)


@register("loss")
class SparseCategoricalCrossentropy(_Builtin):
    """Crossentropy for integer class labels.

    Args:
        from_logits: ``y_pred`` holds logits instead of probabilities.
        ignore_class: a label value (e.g. a padding id) whose entries are left out of the loss.
        axis: the class axis.
    """

    _fn = staticmethod(fn.sparse_categorical_crossentropy)
    _args = ("from_logits", "ignore_class", "axis")

    def __init__(self, from_logits: bool = False, ignore_class: int | None = None, reduction: Any = _R,
                 axis: int = -1, name: str = "sparse_categorical_crossentropy", dtype: Any = None):
        super().__init__(reduction=reduction, name=name, dtype=dtype, from_logits=from_logits,
                         ignore_class=ignore_class, axis=axis)


def _check_smoothing(value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ValueError(f"`label_smoothing` must be a float in [0, 1], got {value!r}")
