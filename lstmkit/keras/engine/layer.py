"""The Keras ``Layer`` on torch: a ``torch.nn.Module`` that builds its weights on first call
from the input's shape, works eagerly on tensors and symbolically on ``KerasTensor`` s
(functional API), carries masks, and exposes Keras' weight, config and regularisation API.

Subclasses implement ``build(input_shape)`` (create weights with ``add_weight``) and
``call(inputs, ...)`` (torch code). ``call`` may take ``mask=`` and/or ``training=`` keyword
arguments; ``__call__`` passes them only if the signature has them. As in Keras 3: a symbolic
call builds the layer on the symbolic shapes (None for unknown sizes) and uses the layer's own
``compute_output_shape`` when it defines one; sub-layers held in attributes, lists, tuples or
dicts are tracked; ``get_config`` of a subclass that does not define one returns its
``__init__`` arguments (auto_config.py); ``layer.input`` / ``layer.output`` come from
layer_nodes.py and weights are ``Variable`` s (variable.py).
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from lstmkit.keras.engine import registry
from lstmkit.keras.engine.auto_config import auto_config, record_init_arguments
from lstmkit.keras.engine.keras_tensor import KerasTensor, Node, flatten, is_symbolic
from lstmkit.keras.engine.layer_nodes import NodesMixin
from lstmkit.keras.engine.layer_weights import WeightsMixin
from lstmkit.keras.engine.registry import snake_case

# re-exported: layers import these from here
from lstmkit.keras.engine.structures import _map, _map2, _map_shapes, as_tensor, get_mask, set_mask, shape_of  # noqa: F401

_NAME_COUNTS: dict[str, int] = {}
#: True while a layer is run on dummy tensors to infer output shapes: stateful layers must not
#: update their state then.
TRACING = False


def unique_name(base: str) -> str:
    """Keras-style automatic names: ``lstm``, ``lstm_1``, ``lstm_2`` ..."""
    n = _NAME_COUNTS.get(base, 0)
    _NAME_COUNTS[base] = n + 1
    return base if n == 0 else f"{base}_{n}"


def clear_session() -> None:
    """Reset automatic layer names (as ``keras.backend.clear_session``)."""
    _NAME_COUNTS.clear()


class Layer(WeightsMixin, NodesMixin, nn.Module):
    """Base of every lstmkit.keras layer. Arguments common to all layers:

    Args:
        name: unique layer name (default: the snake-case class name, numbered).
        trainable: whether the weights are updated by training.
        dtype: the compute dtype (default "float32").
        input_shape: legacy shape of one sample (without batch), for the first layer of a
            Sequential model; ``input_dim=n`` is the same as ``input_shape=(n,)``.
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> Layer:
        instance = super().__new__(cls)
        record_init_arguments(instance, cls, args, kwargs)
        return instance

    def __init__(self, *, name: str | None = None, trainable: bool = True, dtype: Any = None,
                 input_shape: Sequence[int | None] | None = None, input_dim: int | None = None,
                 batch_input_shape: Sequence[int | None] | None = None, activity_regularizer: Any = None,
                 autocast: bool = True, **kwargs: Any):
        super().__init__()
        if kwargs:
            raise TypeError(f"{type(self).__name__} got unexpected keyword argument(s): {sorted(kwargs)}")
        if name is not None and (not isinstance(name, str) or not name):
            raise ValueError(f"name must be a non-empty string, got {name!r}")
        self.name = name or unique_name(snake_case(type(self).__name__))
        self.built = False
        self.supports_masking = False
        self._trainable = bool(trainable)
        self._dtype_name = "float32" if dtype is None else str(dtype).removeprefix("torch.")
        self._weight_names: list[str] = []
        self._auto_weight_names: set[str] = set()  # added without a name: renamed by ``self.w = ...``
        self._non_trainable_at_creation: set[str] = set()
        self._regularizers: dict[str, Any] = {}
        self._constraints: dict[str, Any] = {}
        self.activity_regularizer = (None if activity_regularizer is None
                                     else registry.resolve("regularizer", activity_regularizer))
        self._activity_losses: list[torch.Tensor] = []
        self._added_losses: list[torch.Tensor] = []
        self._build_input_shape: Any = None
        if batch_input_shape is not None:
            self._input_shape_arg = tuple(batch_input_shape)
        elif input_shape is not None:
            self._input_shape_arg = (None, *tuple(input_shape))
        elif input_dim is not None:
            self._input_shape_arg = (None, input_dim)
        else:
            self._input_shape_arg = None
        self.train(False)  # Keras: outside fit(), layers run in inference mode by default

    # ------------------------------------------------------------------ weights
    @property
    def dtype(self) -> str:
        return self._dtype_name

    @property
    def compute_dtype(self) -> torch.dtype:
        return getattr(torch, self._dtype_name)

    @property
    def weights(self) -> list[torch.Tensor]:
        """All weights in Keras order: this layer's own (creation order), then sub-layers'."""
        return self._own_weights() + [w for layer in self._sublayers() for w in layer.weights]

    @property
    def trainable_weights(self) -> list[torch.Tensor]:
        out = [w for w in self.weights if w.requires_grad]
        for w in out:
            if not hasattr(w, "value"):
                # a torch parameter or a Keras-layout view of some (LSTM kernel): Keras code reads
                # ``v.value.grad``; a view has no gradient of its own (Optimizer.apply then updates
                # the torch parameters behind it)
                if not w.is_leaf:
                    w.retain_grad()
                w.value = w
        return out

    @property
    def non_trainable_weights(self) -> list[torch.Tensor]:
        return [w for w in self.weights if not w.requires_grad]

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        self._trainable = bool(value)
        for name, p in self._parameters.items():  # weights made trainable=False stay frozen (Keras)
            if p is not None:
                p.requires_grad_(self._trainable and name not in self._non_trainable_at_creation
                                 and (p.is_floating_point() or p.is_complex()))
        for m in self.children():
            if isinstance(m, Layer):
                m.trainable = value
            else:  # plain torch modules inside a layer (the LSTM's lstmkit.nn module)
                for p in m.parameters():
                    p.requires_grad_(self._trainable)

    def _sublayers(self) -> list[Layer]:
        return [m for m in self.children() if isinstance(m, Layer)]

    def get_weights(self) -> list[np.ndarray]:
        """Weights as NumPy arrays in Keras' layout and order."""
        return [w.detach().cpu().numpy().copy() for w in self.weights]

    def set_weights(self, weights: Sequence[Any]) -> None:
        """Load weights given in Keras' layout and order (shapes are checked)."""
        own = self.weights
        if len(weights) != len(own):
            raise ValueError(f"layer {self.name!r} expects {len(own)} weight arrays, got {len(weights)}")
        with torch.no_grad():
            for k, (w, value) in enumerate(zip(own, weights)):
                value = torch.as_tensor(np.asarray(value), dtype=w.dtype)
                if tuple(value.shape) != tuple(w.shape):
                    raise ValueError(f"layer {self.name!r} weight {k} has shape {tuple(w.shape)}, "
                                     f"got an array of shape {tuple(value.shape)}")
                w.copy_(value)

    def count_params(self) -> int:
        if not self.built:
            raise ValueError(f"layer {self.name!r} is not built yet: call it on data or give input_shape")
        return int(sum(w.numel() for w in self.weights))

    @property
    def losses(self) -> list[torch.Tensor]:
        """Regularisation penalties: weight regularisers now, activity regularisers of the last call."""
        out = [reg(getattr(self, attr)) for attr, reg in self._regularizers.items()]
        out += self._activity_losses + self._added_losses
        return out + [loss for layer in self._sublayers() for loss in layer.losses]

    def add_loss(self, loss: Any) -> None:
        """Add a loss tensor (or a list of them) computed in ``call``; it is part of ``losses`` and
        of the training loss until the layer's next call (Keras 3)."""
        for value in flatten(loss):
            if callable(value):
                value = value()
            self._added_losses.append(as_tensor(value))

    def apply_constraints(self) -> None:
        """Project constrained weights back onto their constraint (called after each optimizer step)."""
        with torch.no_grad():
            for attr, constraint in self._constraints.items():
                w = getattr(self, attr)
                w.copy_(constraint(w))
        for layer in self._sublayers():
            layer.apply_constraints()

    # ------------------------------------------------------------------ building and calling
    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Wrap each subclass's ``build`` so that calling it directly also marks the layer built
        (as Keras does)."""
        super().__init_subclass__(**kwargs)
        if "build" in cls.__dict__:
            original = cls.__dict__["build"]

            def build(self, input_shape, _original=original):
                _original(self, input_shape)
                self.built = True
                if not self._trainable:  # sub-layers made in build() follow a frozen parent
                    self.trainable = False

            build.__doc__ = original.__doc__
            cls.build = build

    def build(self, input_shape: Any) -> None:
        """Create the weights for inputs of this shape (batch dim included, maybe None)."""

    def _maybe_build(self, input_shape: Any) -> None:
        if not self.built:
            self._sweep_sublayers()
            self._build_input_shape = input_shape
            self.build(input_shape)
            self.built = True
            self.train(self.training)  # modules created in build() take the layer's mode
            if not self._trainable:
                self.trainable = False

    def call(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__}.call")

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.call(*args, **kwargs)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """The mask of the outputs: by default passed through by layers that support masking."""
        return mask if self.supports_masking else None

    def _call_params(self) -> set[str]:
        cached = type(self).__dict__.get("_call_params_cache")
        if cached is None:
            cached = set(inspect.signature(self.call).parameters)
            type(self)._call_params_cache = cached
        return cached

    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        if is_symbolic(inputs):
            return self._symbolic_call(inputs, *args, **kwargs)
        inputs = _map(as_tensor, inputs)
        mask = kwargs.pop("mask", None)
        if mask is None:
            mask = get_mask(inputs)
        training = kwargs.pop("training", None)
        self._maybe_build(shape_of(inputs))
        if self._added_losses:
            self._added_losses = []
        params = self._call_params()
        if "mask" in params:
            kwargs["mask"] = mask
        mode = self.training
        if training is not None and bool(training) != mode:
            self.train(bool(training))  # an explicit training= wins for this call, sub-modules included
        try:
            if "training" in params:
                kwargs["training"] = self.training
            outputs = self.call(inputs, *args, **kwargs)
        finally:
            if self.training != mode:
                self.train(mode)
        if self.activity_regularizer is not None and not TRACING:
            # Keras 3 divides the activity penalty by the batch size.
            self._activity_losses = [self.activity_regularizer(o) / max(o.shape[0], 1) for o in flatten(outputs)]
        set_mask(outputs, self.compute_mask(inputs, mask))
        return outputs

    def _defines_output_shape(self) -> bool:
        """Whether symbolic calls can take the output shape from the layer's own one-shape
        ``compute_output_shape`` (a layer whose version takes several shapes, as MultiHeadAttention's
        ``(query_shape, value_shape, key_shape=None)``, is run on dummy tensors instead)."""
        fn = type(self).compute_output_shape
        if fn is Layer.compute_output_shape or getattr(self, "_shapes_from_dummy_runs", False):
            return False
        required = [p for p in list(inspect.signature(fn).parameters.values())[1:]
                    if p.default is inspect.Parameter.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        return len(required) <= 1

    def compute_output_shape(self, input_shape: Any) -> Any:
        """Output shape(s) for inputs of ``input_shape`` (batch dim included, maybe None): by
        default found by a symbolic call; layers may define it (then symbolic calls use it)."""
        def spec(shape: Any) -> KerasTensor:
            return KerasTensor(tuple(shape), self.compute_dtype)

        is_one = isinstance(input_shape, (tuple, list)) and all(d is None or isinstance(d, (int, np.integer))
                                                               for d in input_shape)
        structure = spec(input_shape) if is_one else _map_shapes(spec, input_shape)
        out = self._symbolic_call(structure, _record=False)
        return shape_of(out)

    def _symbolic_call(self, inputs: Any, *args: Any, _record: bool = True, **kwargs: Any) -> Any:
        """Record a node: build on the symbolic shapes, then take the output shapes from the
        layer's ``compute_output_shape`` if it defines one, else infer them by running twice on
        small dummy tensors (the unknown sizes as 2 and 3); sizes that differ stay None."""
        global TRACING
        self._maybe_build(shape_of(inputs))
        node = Node(self, inputs, dict(kwargs))
        if self._defines_output_shape():
            shapes = self.compute_output_shape(shape_of(inputs))
            has_mask = (type(self).compute_mask is not Layer.compute_mask
                        or (self.supports_masking and any(getattr(t, "has_mask", False) for t in flatten(inputs))))

            def declared(shape: tuple) -> KerasTensor:
                t = KerasTensor(tuple(shape), self.compute_dtype, name=f"{self.name}/out{len(node.outputs)}",
                                has_mask=has_mask, node=node, index=len(node.outputs))
                node.outputs.append(t)
                return t

            outputs = _map_shapes(declared, shapes)
            if _record:
                self._add_inbound_node(node)
            return outputs
        specs = []
        was_training = self.training
        self.eval()
        TRACING = True
        try:
            for fill in (2, 3):
                def dummy(t: KerasTensor, fill=fill, like: tuple = ()) -> torch.Tensor:
                    shape = tuple(fill if d is None else d for d in t.shape)
                    if like:  # a call argument (mask=, initial_state=): sized as the inputs where `like` says
                        shape = tuple(like[k] if k < len(like) and d is None else s
                                      for k, (d, s) in enumerate(zip(t.shape, shape)))
                    # a bool input is a mask: all steps real, so the dummy pass runs every path
                    x = torch.ones(shape, dtype=t.dtype) if t.dtype == torch.bool else torch.zeros(shape, dtype=t.dtype)
                    if t.has_mask:
                        set_mask(x, torch.ones(shape[:2], dtype=torch.bool))
                    return x

                dummy_inputs = _map(dummy, inputs)
                # tensors given as call arguments take the inputs' batch size (a mask also their time
                # length where its own is unknown), so they fit inputs of a fixed batch size or length
                ref = tuple(flatten(dummy_inputs)[0].shape)

                def dummy_kwarg(value: Any, key: str, dummy=dummy, ref=ref) -> Any:
                    if not isinstance(value, KerasTensor):
                        return value
                    return dummy(value, like=ref[:2] if key == "mask" else ref[:1])

                call_kwargs = {k: _map(lambda v, k=k: dummy_kwarg(v, k), v) for k, v in kwargs.items()}
                with torch.no_grad():
                    out = self.__call__(dummy_inputs, *args, **call_kwargs)
                specs.append(out)
        finally:
            TRACING = False
            self.train(was_training)
            for m in self.modules():  # losses added while tracing are of dummy data
                if isinstance(m, Layer) and m._added_losses:
                    m._added_losses = []
        first, second = specs

        # the batch size stays fixed only if every input fixes it (Input(batch_size=...), stateful models)
        fixed_batch = all(t.shape and t.shape[0] is not None for t in flatten(inputs) if isinstance(t, KerasTensor))

        def symbolic(pair: tuple[torch.Tensor, torch.Tensor]) -> KerasTensor:
            a, b = pair
            shape = tuple(None if (k == 0 and not fixed_batch) or da != db else da
                          for k, (da, db) in enumerate(zip(a.shape, b.shape)))
            t = KerasTensor(shape, a.dtype, name=f"{self.name}/out{len(node.outputs)}",
                            has_mask=get_mask(a) is not None, node=node, index=len(node.outputs))
            node.outputs.append(t)
            return t

        outputs = _map2(symbolic, first, second)
        if _record:
            self._add_inbound_node(node)
        return outputs

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict[str, Any]:
        """``name``, ``trainable``, ``dtype`` (and a legacy input shape); for a subclass that does not
        define ``get_config``, also its ``__init__`` arguments when they are plain values (Keras 3)."""
        config: dict[str, Any] = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype}
        if self._input_shape_arg is not None:
            config["batch_input_shape"] = list(self._input_shape_arg)
        if type(self).get_config is Layer.get_config and type(self).__module__.split(".")[0] != "lstmkit":
            return auto_config(self, config)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"
