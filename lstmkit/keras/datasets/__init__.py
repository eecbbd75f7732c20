"""``lstmkit.keras.datasets``, as ``keras.datasets``: ``imdb`` and ``mnist`` read from the files Keras
caches (``~/.keras/datasets`` or ``$KERAS_HOME/datasets``), found with ``keras.utils.get_file``.
Nothing is downloaded, and nothing is unpickled: every ``.npz`` is opened with
``allow_pickle=False``.
"""

from lstmkit.keras.datasets import imdb, mnist

__all__ = ["imdb", "mnist"]
