"""Time-series forecasting with LSTMs: ``lstmkit forecast train|evaluate|predict`` and the
``Forecaster`` Python API, scored beside naive, seasonal naive and ARIMA baselines.

Modules: ``data`` (series loading), ``windows`` (splits, windows, scalers), ``model``
(``Forecaster``), ``network`` (the lstmkit.keras model and its training), ``baselines``,
``metrics``, ``intervals`` (quantile heads, coverage), ``evaluation`` (one-step and rolling-origin
scoring), ``plot``, ``pipeline`` (one training run), ``cli`` and ``demo``.

Names resolve lazily so that ``lstmkit --help`` does not import torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_NAMES = {"Forecaster": "model", "Forecast": "model", "load_series": "data", "Series": "data", "demo": "demo"}
__all__ = sorted(_NAMES)


def __getattr__(name: str) -> Any:
    if name not in _NAMES:
        raise AttributeError(f"module 'lstmkit.apps.forecast' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"lstmkit.apps.forecast.{_NAMES[name]}"), name)
    globals()[name] = value
    return value
