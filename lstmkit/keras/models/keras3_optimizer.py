"""Optimizer state in Keras 3's files: the ``optimizer/vars`` group of ``model.weights.h5``, both ways.

Keras 3 saves ``optimizer.variables`` as datasets ``"0"``, ``"1"``... in this order (its
``BaseOptimizer.__init__`` then the subclass' ``build``): ``iteration`` (int), ``learning_rate``
(float; only when the rate is a number, not a schedule), then the slots of every trainable
variable in ``model.trainable_variables`` order. Slots made by one ``add_optimizer_variables``
call are interleaved per variable (Adam: m0, v0, m1, v1, ...); separate calls follow each other
(Adam's amsgrad ``velocity_hat``s after all m/v; RMSprop's ``velocity``s, then ``momentum``s,
then ``average_gradient``s). Nadam appends one scalar ``u_product``. Each slot has its
variable's shape, in Keras' layout (an LSTM kernel's moment is ``(input, 4*units)``).

lstmkit's optimizers run on ``torch.optim`` over torch's parameters (``weight_ih (4H, input)``
...), so every slot crosses the same layout conversion as the weights. It is not written a second
time: a layer's slots are passed through the layer's own ``weights`` / ``set_weights`` (which
call ``lstmkit.keras.layout``), by swapping them into its parameters for the moment of the read
and restoring the parameters bit for bit afterwards. That is exact because a layer's Keras
trainable weights are a rearrangement of its trainable torch parameters (transposes, gate
blocks reordered, a GRU's two biases stacked); a layer where that does not hold (same element
count) is reported, never converted wrongly.

Slot semantics: torch and Keras keep the same moments (Adam/AdamW/Nadam m, v, v_hat; RMSprop
velocity / momentum / average gradient; Adagrad's accumulator; Adadelta's two averages; Nadam's
``u_product`` is torch's per-parameter ``mu_product``), except SGD's momentum: Keras keeps
``m = momentum*m - lr*g`` and torch ``b = momentum*b + g``, so ``m = -lr_last * b`` with the rate
of the last step. torch's per-parameter ``step`` is Keras' ``iteration``. Keras' Adamax has no
lstmkit counterpart; other optimizer classes write no ``optimizer/vars``.

A file whose ``optimizer/vars`` do not fit the model and optimizer (another variable count or
shapes, another optimizer's name, a non-numeric dataset, an SGD momentum at rate 0) is skipped
with a warning that says why, and the optimizer starts fresh -- as Keras does when its variable
count differs; the weights and the compile arguments still load.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from lstmkit.keras.optimizers.schedules import LearningRateSchedule

#: per lstmkit optimizer class: the Keras slot groups (one tuple per ``add_optimizer_variables``
#: call, interleaved inside) and each slot's key in the torch optimizer's per-parameter state.
_TORCH_KEYS = {
    "SGD": {"momentum": "momentum_buffer"},
    "Adam": {"momentum": "exp_avg", "velocity": "exp_avg_sq", "velocity_hat": "max_exp_avg_sq"},
    "RMSprop": {"velocity": "velocity", "momentum": "momentum", "average_gradient": "average_gradient"},
    "Adagrad": {"accumulator": "sum"},
    "Adadelta": {"accumulated_grad": "square_avg", "accumulated_delta_var": "acc_delta"},
    "Nadam": {"momentum": "exp_avg", "velocity": "exp_avg_sq"},
}
_TORCH_KEYS["AdamW"] = _TORCH_KEYS["Adam"]
_STEPPED = ("Adam", "AdamW", "Adagrad", "Adadelta", "Nadam")  # torch keeps a per-parameter "step"


class StateMismatch(ValueError):
    """The file's optimizer variables do not fit this model and optimizer."""


def slot_groups(opt: Any) -> list[tuple[str, ...]] | None:
    """Keras' slot names in its ``build()`` order, or None for a class Keras 3 has no match for."""
    name = type(opt).__name__
    if name == "SGD":
        return [("momentum",)] if opt.momentum else []
    if name in ("Adam", "AdamW"):
        return [("momentum", "velocity")] + ([("velocity_hat",)] if opt.amsgrad else [])
    if name == "RMSprop":
        return ([("velocity",)] + ([("momentum",)] if opt.momentum > 0 else [])
                + ([("average_gradient",)] if opt.centered else []))
    if name == "Adagrad":
        return [("accumulator",)]
    if name == "Adadelta":
        return [("accumulated_grad", "accumulated_delta_var")]
    if name == "Nadam":
        return [("momentum", "velocity")]
    return None


def _has_rate_variable(opt: Any) -> bool:
    return not isinstance(opt._learning_rate, LearningRateSchedule)


def _last_rate(opt: Any, iterations: int, rate: float) -> float:
    """The rate of the last step (what SGD's Keras momentum holds), as ``SGD._after_load``."""
    if isinstance(opt._learning_rate, LearningRateSchedule):
        return float(opt._learning_rate(max(iterations - 1, 0)))
    return rate


# ---------------------------------------------------------------------- the model's variables
def _trainable(owner: Any) -> list[int]:
    """Indices of the owner's trainable weights in ``owner.weights``. Read with autograd on: a
    Keras-layout view made under ``no_grad`` (an LSTM's kernel) never requires grad."""
    with torch.enable_grad():
        return [k for k, w in enumerate(owner.weights) if w.requires_grad]


def _owners(model: Any) -> Iterator[tuple[Any, list[torch.Tensor], list[torch.Tensor]]]:
    """``(owner, Keras trainable weights, trainable torch parameters)`` per weight owner, in
    Keras' ``trainable_variables`` order (the model's own weights have owner None)."""
    for owner, ws in model._weight_groups():
        keras_ws = [w for w in ws if w.requires_grad] if owner is None else [ws[k] for k in _trainable(owner)]
        params = keras_ws if owner is None else [p for p in owner.parameters() if p.requires_grad]
        if sum(w.numel() for w in keras_ws) != sum(p.numel() for p in params):
            name = getattr(owner, "name", model.name)
            raise StateMismatch(f"layer {name!r}: its Keras trainable weights are not a rearrangement of its torch "
                                "parameters, so its optimizer slots have no Keras layout")
        yield owner, keras_ws, params


def _params_in_order(model: Any, opt: Any) -> list[torch.Tensor]:
    """The optimizer's parameters (torch's order), checked to be exactly the owners' parameters."""
    ours = [p for _, _, params in _owners(model) for p in params]
    theirs = list(opt._params) if opt.built else [p for p in model.parameters() if p.requires_grad]
    if len({id(p) for p in ours}) != len(ours) or {id(p) for p in ours} != {id(p) for p in theirs}:
        raise StateMismatch("the optimizer's parameters are not the model's trainable weights layer by layer")
    return theirs


@torch.no_grad()
def _slots_to_keras(owner: Any, params: list[torch.Tensor], slots: list[torch.Tensor]) -> list[np.ndarray]:
    """One owner's per-parameter slots (torch layout) -> Keras layout, through the owner's ``weights``."""
    if owner is None:
        return [s.detach().cpu().numpy().copy() for s in slots]
    trainable = _trainable(owner)
    saved = [p.detach().clone() for p in params]
    try:
        for p, s in zip(params, slots):
            p.copy_(s)
        weights = owner.weights
        return [weights[k].detach().cpu().numpy().copy() for k in trainable]
    finally:
        for p, s in zip(params, saved):
            p.copy_(s)


@torch.no_grad()
def _slots_from_keras(owner: Any, params: list[torch.Tensor], values: list[np.ndarray]) -> list[torch.Tensor]:
    """One owner's Keras-layout slots -> torch layout (one per parameter), through ``set_weights``."""
    if owner is None:
        return [torch.as_tensor(v, dtype=p.dtype) for p, v in zip(params, values)]
    tensors = [*owner.parameters(), *owner.buffers()]
    saved = [t.detach().clone() for t in tensors]
    try:
        current = owner.get_weights()
        for k, value in zip(_trainable(owner), values):
            current[k] = value
        owner.set_weights(current)
        return [p.detach().cpu().clone() for p in params]
    finally:
        for t, s in zip(tensors, saved):
            t.copy_(s)


def _keras_layout(groups: list[tuple[str, ...]], n_vars: int) -> list[tuple[str, int]]:
    """``(slot name, variable index)`` of each slot dataset, in Keras' order."""
    return [(name, k) for group in groups for k in range(n_vars) for name in group]


# ---------------------------------------------------------------------- writing
def optimizer_arrays(model: Any) -> list[np.ndarray]:
    """The model's optimizer state as Keras 3's ``optimizer.variables`` values. An unbuilt
    optimizer gives Keras' fresh state. Raises ``StateMismatch`` when Keras has no layout for it."""
    opt = model.optimizer
    groups = slot_groups(opt)
    if groups is None:
        raise StateMismatch(f"Keras 3 has no {type(opt).__name__} optimizer whose variables lstmkit knows")
    if not opt.built and opt._pending_state is not None:
        raise StateMismatch("the optimizer holds a loaded state that is not applied yet (it is not built)")
    keys = _TORCH_KEYS[type(opt).__name__]
    _params_in_order(model, opt)
    state = opt._torch.state if opt._torch is not None else {}
    iterations, rate = opt.iterations, opt.learning_rate
    scale = 1.0
    if type(opt).__name__ == "SGD":  # Keras' m = -lr_last * torch's b
        last = getattr(opt, "_last_lr", None)
        scale = -(last if last is not None else _last_rate(opt, iterations, rate))
    initial = getattr(opt, "initial_accumulator_value", 0.0)

    def torch_slot(p: torch.Tensor, name: str) -> torch.Tensor:
        value = state.get(p, {}).get(keys[name])
        if value is None:
            return torch.full_like(p, initial if name == "accumulator" else 0.0)
        return value * scale if scale != 1.0 else value

    per_var: list[dict[str, np.ndarray]] = []
    names = [name for group in groups for name in group]
    for owner, keras_ws, owned in _owners(model):
        converted = {name: _slots_to_keras(owner, owned, [torch_slot(p, name) for p in owned]) for name in names}
        per_var += [{name: converted[name][k] for name in names} for k in range(len(keras_ws))]
    out = [np.asarray(iterations, dtype=np.int64)]
    if _has_rate_variable(opt):
        out.append(np.asarray(rate, dtype=np.float32))
    out += [per_var[k][name] for name, k in _keras_layout(groups, len(per_var))]
    if type(opt).__name__ == "Nadam":
        mu = [s["mu_product"] for s in state.values() if "mu_product" in s]
        out.append(np.asarray(float(mu[0]) if mu else 1.0, dtype=np.float32))
    return out


def write_vars(f: Any, model: Any) -> bool:
    """Write ``optimizer/vars`` into the open HDF5 file ``f``; False (with a warning) when the
    optimizer has no Keras layout, so Keras will start it fresh."""
    try:
        arrays = optimizer_arrays(model)
    except StateMismatch as e:
        warnings.warn(f"model {model.name!r}: the optimizer state is not written for Keras 3 ({e}); Keras will "
                      "start its optimizer fresh", stacklevel=4)
        return False
    group = f.require_group("optimizer/vars")
    group.attrs["name"] = model.optimizer.name
    for k, value in enumerate(arrays):
        group.create_dataset(str(k), data=value)
    return True


# ---------------------------------------------------------------------- reading
def _read_vars(model: Any, f: Any, what: str) -> tuple[int, float | None, dict[tuple[str, int], np.ndarray], float]:
    """``(iterations, learning rate or None, {(slot, variable index): array}, u_product)``, every
    dataset checked (numeric, plain storage, the shape Keras gives it for this model)."""
    import h5py

    from lstmkit.keras.models.keras3_format import _read_dataset

    opt = model.optimizer
    groups = slot_groups(opt)
    if groups is None:
        raise StateMismatch(f"lstmkit does not know Keras' variables for a {type(opt).__name__} optimizer")
    group = f.get("optimizer/vars")
    if not isinstance(group, h5py.Group):
        raise StateMismatch("the file has no optimizer/vars group")
    saved_name = group.attrs.get("name")
    saved_name = saved_name.decode() if isinstance(saved_name, bytes) else saved_name
    if saved_name is not None and saved_name != opt.name:
        raise StateMismatch(f"the variables belong to an optimizer named {saved_name!r}, the compile config's is "
                            f"{opt.name!r} (another optimizer class or object)")
    shapes = [tuple(w.shape) for _, keras_ws, _ in _owners(model) for w in keras_ws]
    layout = _keras_layout(groups, len(shapes))
    has_rate, nadam = _has_rate_variable(opt), type(opt).__name__ == "Nadam"
    expected = 1 + has_rate + len(layout) + nadam
    count = len([k for k in group if k.isdigit()])
    if count != expected or len(group) != count:
        raise StateMismatch(f"the file has {len(group)} optimizer variables, a {type(opt).__name__} over this model's "
                            f"{len(shapes)} trainable variables has {expected}")
    iterations = _read_dataset(group, "0", (), what)
    if iterations.dtype.kind not in "iu" or int(iterations) < 0:
        raise StateMismatch(f"the iteration count is {iterations!r}, not an integer >= 0")
    rate = None
    if has_rate:
        rate = float(_read_dataset(group, "1", (), what))
        if not np.isfinite(rate) or rate < 0:
            raise StateMismatch(f"the learning rate is {rate}, not a number >= 0")
    start = 1 + has_rate
    slots = {(name, k): _read_dataset(group, str(start + i), shapes[k], what) for i, (name, k) in enumerate(layout)}
    u_product = float(_read_dataset(group, str(expected - 1), (), what)) if nadam else 1.0
    return int(iterations), rate, slots, u_product


def load_vars(model: Any, data: bytes, what: str) -> bool:
    """Set the compiled model's optimizer state from the ``optimizer/vars`` of Keras' HDF5 bytes
    (building the optimizer). False, with a warning saying why, when they do not fit: the optimizer
    then starts fresh. Nothing is changed unless everything fits."""
    import h5py

    opt = model.optimizer
    try:
        with h5py.File(io.BytesIO(data), "r") as f:
            iterations, rate, slots, u_product = _read_vars(model, f, what)
        state = _torch_state(model, opt, iterations, rate, slots, u_product)
    except (StateMismatch, ValueError) as e:
        warnings.warn(f"{what}: the optimizer state is not loaded, the optimizer starts fresh: {e}", stacklevel=4)
        return False
    opt.load_state_dict(state)
    return True


def _torch_state(model: Any, opt: Any, iterations: int, rate: float | None,
                 by_var: dict[tuple[str, int], np.ndarray], u_product: float) -> dict[str, Any]:
    """Keras' variables -> the lstmkit optimizer's ``state_dict()`` (the optimizer is built here)."""
    name = type(opt).__name__
    groups = slot_groups(opt)
    rate = opt.learning_rate if rate is None else rate
    if model.built:
        model._build_optimizer()
    if not opt.built:
        raise StateMismatch("the model is not built, so the optimizer has no variables to load into")
    params = _params_in_order(model, opt)
    keys = _TORCH_KEYS[name]
    per_param: dict[int, dict[str, Any]] = {id(p): {} for p in params}
    k0 = 0
    for owner, keras_ws, owned in _owners(model):
        for slot in [s for group in groups for s in group]:
            values = [by_var[(slot, k0 + k)] for k in range(len(keras_ws))]
            for p, value in zip(owned, _slots_from_keras(owner, owned, values)):
                per_param[id(p)][keys[slot]] = value
        k0 += len(keras_ws)
    if name == "SGD" and opt.momentum:
        last = _last_rate(opt, iterations, rate)
        if last == 0:
            if any(bool(torch.any(s[keys["momentum"]] != 0)) for s in per_param.values()):
                raise StateMismatch("SGD's Keras momentum at learning rate 0 has no torch form (torch keeps the "
                                    "gradient sum and multiplies by the rate)")
            last = 1.0
        for s in per_param.values():
            s[keys["momentum"]] = s[keys["momentum"]] / -last
    for s in per_param.values():
        if name in _STEPPED:
            s["step"] = torch.tensor(float(iterations), dtype=torch.float32)
        if name == "Nadam":
            s["mu_product"] = torch.tensor(u_product, dtype=torch.float32)
    torch_sd = opt._torch.state_dict() if opt._torch is not None else {"state": {}, "param_groups": []}
    index = {id(p): k for k, p in enumerate(params)}
    torch_sd["state"] = {index[pid]: s for pid, s in per_param.items() if s}
    return {"torch": torch_sd if opt._torch is not None else {}, "iterations": iterations, "learning_rate": rate}
