"""``lstmkit.keras.utils``, as ``tensorflow.keras.utils``: label encoding (``to_categorical``),
sequence padding, sliding-window datasets over time series and text datasets from folders (with
tf.data's ``take``/``map``/... and ``.numpy()`` batches), the ``PyDataset``/``Sequence`` base class of
batch-by-index datasets, seeding, normalisation, ``get_file`` (Keras' local cache, no download) and
``plot_model`` (pydot/Graphviz, optional).

Everything here works on NumPy (and torch where noted), so a Keras script's data preparation runs
unchanged.
"""

from lstmkit.keras.engine.registry import custom_object_scope
from lstmkit.keras.utils.dataset_ops import AUTOTUNE, BatchArray
from lstmkit.keras.utils.file_utils import get_file
from lstmkit.keras.utils.numerical import normalize, to_categorical
from lstmkit.keras.utils.plot import model_to_dot, plot_model
from lstmkit.keras.utils.progbar import Progbar
from lstmkit.keras.utils.py_dataset import PyDataset, Sequence
from lstmkit.keras.utils.rng import set_random_seed
from lstmkit.keras.utils.sequence import pad_sequences
from lstmkit.keras.utils.text_dataset import TextDataset, text_dataset_from_directory
from lstmkit.keras.utils.timeseries import TimeseriesDataset, timeseries_dataset_from_array

CustomObjectScope = custom_object_scope  # Keras' class name for the same context manager

__all__ = ["CustomObjectScope", "custom_object_scope",
           "Progbar", "AUTOTUNE", "BatchArray", "PyDataset", "Sequence", "TextDataset", "TimeseriesDataset", "get_file",
           "model_to_dot", "normalize", "pad_sequences", "plot_model", "set_random_seed", "text_dataset_from_directory",
           "timeseries_dataset_from_array", "to_categorical"]
