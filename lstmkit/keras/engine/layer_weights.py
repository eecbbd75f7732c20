"""How a layer owns its weights and sub-layers: ``add_weight`` (Keras 3's signature and lstmkit's
earlier one), the renaming of an unnamed weight to the attribute it is assigned to, the tracking
of layers held in list/tuple/dict attributes, and Keras' weight order.

Why apart from layer.py: this is the state a layer keeps, while layer.py is how it is called.
"""

from __future__ import annotations

import re
from typing import Any

import torch
from torch import nn

from lstmkit.keras.engine import registry
from lstmkit.keras.engine.variable import Variable, torch_dtype, weight_arguments, weight_shape


class WeightsMixin:
    """Mixed into ``Layer`` (an ``nn.Module``); the attributes it uses are set in ``Layer.__init__``."""

    _parameters: dict[str, Any]
    _modules: dict[str, Any]
    _weight_names: list[str]
    _auto_weight_names: set[str]
    _non_trainable_at_creation: set[str]
    _regularizers: dict[str, Any]
    _constraints: dict[str, Any]
    _trainable: bool
    name: str

    def add_weight(self, *args: Any, **kwargs: Any) -> Variable:
        """Create, initialise and register a weight; Keras 3's form
        ``add_weight(shape=None, initializer=None, dtype=None, trainable=True, autocast=True,
        regularizer=None, constraint=None, aggregation="none", name=None)``, and lstmkit's earlier
        ``add_weight(name, shape, initializer, regularizer, constraint, trainable)``. The default
        initializer is "glorot_uniform" for float weights and "zeros" otherwise (Keras 3). A named
        weight is also the attribute ``self.<name>`` until it is assigned to another attribute
        (``self.w = self.add_weight(...)``), which then holds it (in the Keras 3 form)."""
        a = weight_arguments(args, kwargs)
        unknown = set(a) - {"shape", "initializer", "dtype", "trainable", "autocast", "regularizer", "constraint",
                            "aggregation", "overwrite_with_gradient", "name", "synchronization", "use_resource"}
        if unknown:
            raise TypeError(f"add_weight() got unexpected keyword argument(s): {sorted(unknown)}")
        shape = weight_shape(a.get("shape"))
        dtype = self.compute_dtype if a.get("dtype") is None else torch_dtype(a["dtype"])
        initializer = a.get("initializer")
        if initializer is None:
            initializer = "glorot_uniform" if dtype.is_floating_point else "zeros"
        trainable = bool(a.get("trainable", True))
        name = a.get("name")
        if name is not None and (not isinstance(name, str) or not name):
            raise ValueError(f"add_weight(name=...) must be a non-empty string, got {name!r}")
        attr = re.sub(r"\W", "_", name or "variable")
        if name is None or attr in self._parameters:
            base, k = attr, 1
            while attr in self._parameters or attr in vars(self):
                attr, k = f"{base}_{k}", k + 1

        value = torch.empty(shape, dtype=dtype)
        registry.resolve("initializer", initializer)(value)
        grad = trainable and self._trainable and (dtype.is_floating_point or dtype.is_complex)
        param = Variable(value, requires_grad=grad, name=name or attr, path=f"{self.name}/{name or attr}")
        param._named = name is not None
        self.register_parameter(attr, param)
        self._weight_names.append(attr)
        if not (args and isinstance(args[0], str)):
            # Keras 3 form: the weight is registered under the attribute it is assigned to (its
            # name stays its Keras name); lstmkit's name-first form keeps ``self.<name>``
            self._auto_weight_names.add(attr)
        if not trainable:
            self._non_trainable_at_creation.add(attr)
        if a.get("regularizer") is not None:
            self._regularizers[attr] = registry.resolve("regularizer", a["regularizer"])
        if a.get("constraint") is not None:
            self._constraints[attr] = registry.resolve("constraint", a["constraint"])
        return param

    def __setattr__(self, key: str, value: Any) -> None:
        auto = self.__dict__.get("_auto_weight_names")
        if auto and isinstance(value, nn.Parameter):
            old = next((n for n in auto if self._parameters.get(n) is value), None)
            if old is not None and old != key and key not in self._parameters:
                self._rename_weight(old, key)
                return
        tracked = not key.startswith("_") and "_weight_names" in self.__dict__
        if tracked and type(value) is list and not any(isinstance(v, torch.Tensor) for v in value):
            value = TrackedList(value, self, key)  # lists of tensors (states) stay plain lists
        super().__setattr__(key, value)
        if tracked and isinstance(value, (list, tuple, dict)):
            self._track_sublayers(key, value)

    def _rename_weight(self, old: str, new: str) -> None:
        """Register the unnamed weight ``old`` as ``new`` (the attribute the user assigned it to)."""
        param = self._parameters.pop(old)
        self.register_parameter(new, param)
        self._weight_names[self._weight_names.index(old)] = new
        self._auto_weight_names.discard(old)
        for table in (self._regularizers, self._constraints):
            if old in table:
                table[new] = table.pop(old)
        if old in self._non_trainable_at_creation:
            self._non_trainable_at_creation.discard(old)
            self._non_trainable_at_creation.add(new)
        if isinstance(param, Variable) and not getattr(param, "_named", False):
            param._keras_name, param._keras_path = new, f"{self.name}/{new}"

    def _track_sublayers(self, key: str, value: Any) -> None:
        """Register the layers held in a list, tuple or dict attribute as torch children (as Keras
        tracks them), so their weights are the model's. Entries that stay keep their place in
        the layer order; removed ones are dropped."""
        prefix = f"{key}__"
        items = value.items() if isinstance(value, dict) else enumerate(value)
        wanted = {prefix + re.sub(r"\W", "_", str(k)): item for k, item in items
                  if isinstance(item, WeightsMixin) and item is not self}
        for old in [k for k in self._modules if k.startswith(prefix)]:
            if wanted.get(old) is not self._modules[old]:
                del self._modules[old]
        others = {id(m) for k, m in self._modules.items() if not k.startswith(prefix)}
        for k, item in wanted.items():
            if k not in self._modules and id(item) not in others:
                self._modules[k] = item

    def _sweep_sublayers(self) -> None:
        """Track the layers appended to list/dict attributes after they were assigned."""
        for key, value in list(vars(self).items()):
            if not key.startswith("_") and isinstance(value, (list, tuple, dict)):
                self._track_sublayers(key, value)

    def _own_weights(self) -> list[torch.Tensor]:
        """This layer's weights in Keras' order: those created trainable, then the others."""
        names = self._weight_names
        order = [n for n in names if n not in self._non_trainable_at_creation] + \
            [n for n in names if n in self._non_trainable_at_creation]
        return [getattr(self, n) for n in order]


class TrackedList(list):
    """A list held by a layer attribute (Keras' TrackedList): layers appended, inserted or removed
    later are registered or dropped as the layer's children at once, in order."""

    def __init__(self, items: Any = (), owner: Any = None, key: str = ""):
        super().__init__(items)
        self._owner, self._key = owner, key  # no owner: a copy made by code that maps over lists (a plain list)

    def _changed(self, items: Any = None) -> None:
        """After an addition of ``items`` (None: a removal or a reorder), re-register if layers are concerned."""
        if self._owner is None:
            return
        if items is None:
            prefix = f"{self._key}__"
            concerned = any(k.startswith(prefix) for k in self._owner._modules)
        else:
            concerned = any(isinstance(v, WeightsMixin) for v in items)
        if concerned:
            self._owner._track_sublayers(self._key, self)

    def append(self, value: Any) -> None:
        super().append(value)
        self._changed([value])

    def extend(self, values: Any) -> None:
        values = list(values)
        super().extend(values)
        self._changed(values)

    def insert(self, index: Any, value: Any) -> None:
        super().insert(index, value)
        self._changed()

    def __iadd__(self, values: Any) -> TrackedList:
        self.extend(values)
        return self

    def __setitem__(self, index: Any, value: Any) -> None:
        super().__setitem__(index, value)
        self._changed()

    def __delitem__(self, index: Any) -> None:
        super().__delitem__(index)
        self._changed()

    def pop(self, index: Any = -1) -> Any:
        value = super().pop(index)
        self._changed()
        return value

    def remove(self, value: Any) -> None:
        super().remove(value)
        self._changed()

    def clear(self) -> None:
        super().clear()
        self._changed()
