"""The machinery under lstmkit.keras: the Layer base class, symbolic tensors for the
functional API, model inputs, and the registry that makes layers and objects serialisable."""

from lstmkit.keras.engine.input_layer import Input, InputLayer
from lstmkit.keras.engine.keras_tensor import KerasTensor, Node
from lstmkit.keras.engine.layer import Layer, clear_session
from lstmkit.keras.engine.registry import deserialize, register, serialize

__all__ = ["Input", "InputLayer", "KerasTensor", "Node", "Layer", "clear_session", "deserialize", "register",
           "serialize"]
