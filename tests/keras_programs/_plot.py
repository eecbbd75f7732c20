"""``keras.utils.plot_model`` as the programs call it: it needs pydot and Graphviz (optional
here, as in Keras); without them it must raise Keras' ImportError, and the program goes on."""

from __future__ import annotations

import importlib.util

from lstmkit import keras


def plot_model_or_import_error(model, **kwargs):
    try:
        return keras.utils.plot_model(model, **kwargs)
    except ImportError as e:
        assert "pydot" in str(e)
        if importlib.util.find_spec("pydot") is None:
            return None
        assert "Graphviz" in str(e)  # pydot without the `dot` program
        return None
