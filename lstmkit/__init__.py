"""lstmkit: recurrent layers (LSTM, GRU and their variants) from the gate equations up.

- ``lstmkit.cells``: NumPy reference cells, the executable spec of every variant.
- ``lstmkit.nn``: PyTorch modules (``LSTM``, ``GRU``, ``LSTMCell``, ``GRUCell``) that are drop-in
  supersets of their ``torch.nn`` namesakes.
- ``lstmkit.kernels``: the execution paths behind ``lstmkit.nn`` and the dispatch between them.
- ``lstmkit.data``: small data sets shipped with the package.

Importing ``lstmkit`` itself is cheap: it does not import torch; import the submodule you need.
"""

__version__ = "0.1.0"


def provide_strategy(name: str) -> bool:
    """Import the subpackage that registers the training strategy ``name`` with lstmkit.keras
    (``lstmkit.keras.models.strategy.register_strategy``); False if lstmkit has none of that name.

    lstmkit.keras calls this for a name it does not know yet (``fit(distributed=True)`` means
    ``"ddp"``): the Keras layer imports none of the packages built on top of it, and the top
    package is where they are wired together. Imports happen here, on first use only, so that
    ``import lstmkit`` stays cheap.
    """
    if name == "ddp":
        import lstmkit.distributed.strategy  # noqa: F401  (registers "ddp" when imported)

        return True
    return False
