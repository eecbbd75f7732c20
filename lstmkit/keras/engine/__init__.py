"""The machinery under lstmkit.keras: the Layer base class, symbolic tensors for the
functional API, model inputs, and the registry that makes layers and objects serialisable."""

from lstmkit._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "Input": "input_layer", "InputLayer": "input_layer", "KerasTensor": "keras_tensor", "Node": "keras_tensor",
    "Layer": "layer", "clear_session": "layer", "deserialize": "registry", "register": "registry",
    "serialize": "registry",
})
