"""Look inside recurrent models: traces of every gate and state, and the analyses of Karpathy,
Johnson & Fei-Fei (2015), "Visualizing and Understanding Recurrent Networks", as plots and pages.

Reading order: ``trace`` (``record``: the per-step gates, cells and outputs of each layer),
then the analyses built on it: ``features`` and ``cells_page`` (which cells track which
features of a text, coloured over the text), ``saturation`` (how often each gate is almost
closed or open), ``errors`` (where the LSTM beats an n-gram, and on what), ``attention``
(attention weights as heat maps) and ``history`` (training curves). Plots need matplotlib;
nothing here imports it, or any analysis module, until used.
"""

from __future__ import annotations

from lstmkit._lazy import lazy_exports

from .trace import LayerTrace, record

__getattr__, __dir__, _lazy_names = lazy_exports(__name__, {
    "write_cell_page": "cells_page", "rank_cells": "features", "FEATURES": "features",
    "compute_features": "features", "best_cell_per_feature": "features", "CellMatch": "features",
    "gate_saturation": "saturation", "plot_saturation": "saturation",
    "compare_models": "errors", "error_breakdown": "errors", "plot_error_breakdown": "errors",
    "closing_accuracy_by_distance": "errors", "plot_closing_accuracy": "errors",
    "attention_scores": "attention", "plot_attention": "attention", "write_attention_page": "attention",
    "load_history": "history", "plot_history": "history",
})
__all__ = ["LayerTrace", "record", *_lazy_names]
