"""Keras ops between layer calls (``x + y``, ``x[:, -1]``, ``ops.mean(x, axis=1)``) in Keras 3 files.

Why: Keras 3 stores each such call in a functional model's ``config.json`` as an ``Operation``
entry (``{"module": "keras.src.ops.numpy", "class_name": "Mean", "config": {"name": "mean",
"axis": [1], "keepdims": false}}``) whose ``inbound_nodes`` hold the operation's ``call`` arguments
(tensors, and e.g. ``GetItem``'s key); the other arguments are constructor arguments in ``config``.
lstmkit records the same call as one ``SymbolicOp`` layer (op name + argument template, see
``lstmkit.keras.ops.symbolic``). This module translates between the two for the ops below; each
op's Keras class is the CamelCase of its name and its ``call`` parameters are listed (every other
parameter of lstmkit's op is a Keras constructor argument of the same name). Any other op makes
``NotKerasCompatible`` on writing and a clear error on reading; a class is only ever found in
this table, never by importing the module a file names.
"""

from __future__ import annotations

import inspect
from typing import Any

#: Keras ops module -> call parameters -> lstmkit op names (Keras class = CamelCase of the name)
_TABLE: dict[str, dict[tuple[str, ...], tuple[str, ...]]] = {
    "numpy": {
        ("x",): ("abs", "absolute", "all", "amax", "amin", "any", "arctan", "argmax", "argmin", "argsort",
                 "broadcast_to", "ceil", "clip", "cos", "cosh", "count_nonzero", "cumprod", "cumsum", "diag",
                 "exp", "expand_dims", "expm1", "flip", "floor", "isfinite", "isinf", "isnan", "log", "log10",
                 "log1p", "log2", "logical_not", "max", "mean", "min", "moveaxis", "negative", "ones_like",
                 "prod", "ravel", "reciprocal", "repeat", "reshape", "roll", "round", "sign", "sin", "sinh",
                 "sort", "sqrt", "square", "squeeze", "stack", "std", "sum", "swapaxes", "tan", "tanh", "tile",
                 "transpose", "tril", "triu", "var", "zeros_like"),
        ("x1", "x2"): ("add", "arctan2", "divide", "divide_no_nan", "dot", "equal", "floor_divide", "greater",
                       "greater_equal", "less", "less_equal", "logical_and", "logical_or", "logical_xor",
                       "matmul", "maximum", "minimum", "mod", "multiply", "not_equal", "outer", "power",
                       "subtract", "tensordot", "true_divide"),
        ("xs",): ("concatenate", "hstack", "vstack"),
        ("x", "key"): ("get_item",),
        ("x", "indices"): ("take", "take_along_axis"),
        ("x", "fill_value"): ("full_like",),
        ("x", "constant_values"): ("pad",),
        ("condition", "x1", "x2"): ("where",),
    },
    "nn": {
        ("x",): ("celu", "elu", "gelu", "glu", "hard_sigmoid", "hard_silu", "leaky_relu", "log_sigmoid",
                 "log_softmax", "normalize", "one_hot", "relu", "relu6", "selu", "sigmoid", "silu", "softmax",
                 "softplus", "softsign"),
        ("target", "output"): ("binary_crossentropy", "categorical_crossentropy",
                               "sparse_categorical_crossentropy"),
    },
    "math": {("x",): ("erf", "erfinv", "logsumexp", "rsqrt")},
    "core": {("x",): ("cast",), ("variable",): ("stop_gradient",)},
}
_OP_INFO: dict[str, tuple[str, str, tuple[str, ...]]] = {
    op: (module, "".join(p.capitalize() for p in op.split("_")), call)
    for module, by_call in _TABLE.items() for call, ops in by_call.items() for op in ops}
_BY_CLASS: dict[tuple[str, str], str] = {(f"keras.src.ops.{m}", c): op for op, (m, c, _) in _OP_INFO.items()}


def is_keras_op(entry: dict[str, Any]) -> bool:
    module = entry.get("module")
    return isinstance(module, str) and (module.startswith("keras.src.ops.") or module == "keras.ops")


def _parameters(op: str) -> list[str]:
    import lstmkit.keras.ops  # noqa: F401  (fills the op table and registers SymbolicOp)
    from lstmkit.keras.ops.symbolic import _OPS

    return list(inspect.signature(_OPS[op]).parameters)


# ---------------------------------------------------------------------- Keras 3 -> lstmkit
def _placeholders(value: Any, tensors: list[Any]) -> Any:
    """Keras call arguments (lstmkit-stripped) -> a SymbolicOp template, tensors to ``__tensor__``."""
    if isinstance(value, dict) and "__keras_tensor__" in value:
        tensors.append(value)
        return {"__tensor__": len(tensors) - 1}
    if isinstance(value, dict) and value.get("class_name") == "__slice__":
        c = value.get("config") or {}
        return {"__slice__": [c.get("start"), c.get("stop"), c.get("step")]}
    if isinstance(value, dict) and value.get("class_name") == "__ellipsis__":
        return {"__ellipsis__": True}
    if isinstance(value, dict) and "__tuple__" in value:
        return {"__tuple__": [_placeholders(v, tensors) for v in value["__tuple__"]]}
    if isinstance(value, list):
        return [_placeholders(v, tensors) for v in value]
    if isinstance(value, dict):
        return {"__dict__": {k: _placeholders(v, tensors) for k, v in value.items()}}
    return value


def op_from_keras(entry: dict[str, Any], strip: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A Keras ``Operation`` entry of a functional config -> (lstmkit SymbolicOp layer, its one call)."""
    import lstmkit.keras.ops  # noqa: F401  (registers SymbolicOp)

    name = entry.get("name")
    op = _BY_CLASS.get((entry.get("module"), entry.get("class_name")))
    if op is None:
        raise ValueError(f"layer {name!r}: the Keras op {entry.get('module')}.{entry.get('class_name')} has no "
                         f"lstmkit counterpart (known ops: {sorted(_OP_INFO)})")
    nodes = entry.get("inbound_nodes") or []
    if len(nodes) != 1 or not isinstance(nodes[0], dict):
        raise ValueError(f"layer {name!r}: a Keras op entry must have exactly one call, got {len(nodes)}")
    config = {k: v for k, v in (entry.get("config") or {}).items() if k != "name"}
    args = [strip(a, name) for a in nodes[0].get("args", [])]
    kwargs = {k: strip(v, name) for k, v in (nodes[0].get("kwargs") or {}).items()}
    if op == "get_item" and len(args) == 2 and isinstance(args[1], list):
        args[1] = {"__tuple__": args[1]}  # Keras' GetItem turns a list key back into a tuple
    tensors: list[Any] = []
    template = {"args": _placeholders(args, tensors),
                "kwargs": _placeholders({**strip(config, name), **kwargs}, tensors)["__dict__"]}
    layer = {"class_name": "SymbolicOp", "config": {"name": name, "op": op, "template": template}}
    return layer, [{"layer": name, "args": tensors, "kwargs": {}}]


# ---------------------------------------------------------------------- lstmkit -> Keras 3
def _fill(value: Any, tensors: list[Any]) -> Any:
    """A SymbolicOp template value in Keras' JSON form, ``__tensor__`` i -> the node's i-th tensor."""
    if isinstance(value, list):
        return [_fill(v, tensors) for v in value]
    if not isinstance(value, dict):
        return value
    if "__tensor__" in value:
        return tensors[value["__tensor__"]]
    if "__slice__" in value:
        start, stop, step = (_fill(v, tensors) for v in value["__slice__"])
        return {"class_name": "__slice__", "config": {"start": start, "stop": stop, "step": step}}
    if "__ellipsis__" in value:
        return {"class_name": "__ellipsis__", "config": {}}
    if "__tuple__" in value:
        return [_fill(v, tensors) for v in value["__tuple__"]]
    if "__dict__" in value:
        return {k: _fill(v, tensors) for k, v in value["__dict__"].items()}
    raise ValueError(f"the template entry {value!r} has no Keras form")


def op_to_keras(entry: dict[str, Any], calls: list[dict[str, Any]], where: str) -> dict[str, Any]:
    """lstmkit's serialized SymbolicOp and its node (Keras tensors already) -> Keras' Operation entry."""
    from lstmkit.keras.models.keras3_config import NotKerasCompatible

    config = entry["config"]
    op, template, name = config["op"], config["template"], config.get("name")
    if op not in _OP_INFO:
        raise NotKerasCompatible(f"{where} is the op {op!r}, which lstmkit cannot write as a Keras 3 op")
    if len(calls) != 1:
        raise NotKerasCompatible(f"{where}: an op layer called {len(calls)} times has no Keras form")
    module, class_name, call_names = _OP_INFO[op]
    tensors = calls[0]["args"][0]
    bound = dict(zip(_parameters(op), template.get("args", [])))
    bound.update(template.get("kwargs", {}))
    present = [n in bound for n in call_names]
    if present != sorted(present, reverse=True):  # a later call argument given, an earlier left out
        raise NotKerasCompatible(f"{where}: op {op!r} leaves out call arguments Keras takes positionally")
    args = [_fill(bound.pop(n), tensors) for n in call_names if n in bound]
    ctor = {k: _fill(v, tensors) for k, v in bound.items()}
    if any(isinstance(v, dict) and v.get("class_name") == "__keras_tensor__" for v in ctor.values()):
        raise NotKerasCompatible(f"{where}: op {op!r} takes a tensor as a non-tensor Keras argument")
    return {"module": f"keras.src.ops.{module}", "class_name": class_name, "config": {"name": name, **ctor},
            "registered_name": None, "name": name, "inbound_nodes": [{"args": args, "kwargs": {}}]}
