"""lstmkit: recurrent layers (LSTM, GRU and their variants) from the gate equations up.

- ``lstmkit.cells``: NumPy reference cells, the executable spec of every variant.
- ``lstmkit.nn``: PyTorch modules (``LSTM``, ``GRU``, ``LSTMCell``, ``GRUCell``) that are drop-in
  supersets of their ``torch.nn`` namesakes.
- ``lstmkit.kernels``: the execution paths behind ``lstmkit.nn`` and the dispatch between them.
- ``lstmkit.data``: small data sets shipped with the package.

Importing ``lstmkit`` itself is cheap: it does not import torch; import the submodule you need.
"""

__version__ = "0.1.0"

