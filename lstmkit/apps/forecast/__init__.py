"""Time-series forecasting with LSTMs: ``lstmkit forecast train|evaluate|predict`` and the
``Forecaster`` Python API, scored beside naive, seasonal naive and ARIMA baselines.

Modules: ``data`` (series loading), ``windows`` (splits, windows, scalers), ``model``
(``Forecaster``), ``network`` (the lstmkit.keras model and its training), ``baselines``,
``metrics``, ``intervals`` (quantile heads, coverage), ``evaluation`` (one-step and rolling-origin
scoring), ``plot``, ``pipeline`` (one training run), ``cli`` and ``demo``.

Names resolve lazily so that ``lstmkit --help`` does not import torch.
"""

from __future__ import annotations

from lstmkit._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "Forecaster": "model", "Forecast": "model", "load_series": "data", "Series": "data", "demo": "demo",
})
