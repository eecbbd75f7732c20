"""``lstmkit.keras.utils``, as ``tensorflow.keras.utils``: label encoding (``to_categorical``),
sequence padding, sliding-window datasets over time series, the ``PyDataset``/``Sequence`` base
class of batch-by-index datasets, seeding and normalisation.

Everything here works on NumPy (and torch where noted), so a Keras script's data preparation runs
unchanged.
"""

from lstmkit.keras.utils.numerical import normalize, to_categorical
from lstmkit.keras.utils.progbar import Progbar
from lstmkit.keras.utils.py_dataset import PyDataset, Sequence
from lstmkit.keras.utils.rng import set_random_seed
from lstmkit.keras.utils.sequence import pad_sequences
from lstmkit.keras.utils.timeseries import TimeseriesDataset, timeseries_dataset_from_array

__all__ = ["Progbar", "PyDataset", "Sequence", "TimeseriesDataset", "normalize", "pad_sequences", "set_random_seed",
           "timeseries_dataset_from_array", "to_categorical"]
