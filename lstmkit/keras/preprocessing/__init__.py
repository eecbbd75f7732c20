"""``lstmkit.keras.preprocessing``, as ``tensorflow.keras.preprocessing``: the legacy text
``Tokenizer`` (``text``), ``pad_sequences`` and ``TimeseriesGenerator`` (``sequence``), and
``timeseries_dataset_from_array``."""

from lstmkit.keras.preprocessing import sequence, text
from lstmkit.keras.utils.timeseries import timeseries_dataset_from_array

__all__ = ["sequence", "text", "timeseries_dataset_from_array"]
