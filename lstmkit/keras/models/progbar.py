"""The training progress bar lives in lstmkit/keras/utils/progbar.py (``lstmkit.keras.utils.Progbar``,
as Keras' ``keras.utils.Progbar``), below both the models and the callbacks that draw it; this
name is kept for the code that imports it from here."""

from lstmkit.keras.utils.progbar import Progbar, format_eta, format_time_per_unit, format_value

__all__ = ["Progbar", "format_eta", "format_time_per_unit", "format_value"]
