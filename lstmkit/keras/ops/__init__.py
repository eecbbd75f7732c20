"""``lstmkit.keras.ops``: the ``keras.ops`` functions that custom layers, cells and models call in
their ``call`` / ``train_step``, on torch tensors (NumPy arrays and Python numbers are converted
as everywhere in lstmkit.keras: floats to float32, integers to int64).

Split by theme, as Keras' own ops: core.py (conversion, ``cast``, ``shape``, eager control flow,
slicing), numpy.py (arithmetic, comparisons, reductions), arrays.py (creation, shapes, joining,
indexing), nn.py (activations, softmax, ``one_hot``, cross-entropies; also reachable as
``ops.nn``, like ``keras.ops.nn``) and math.py (``erf``, ``logsumexp``, ``top_k``, ``norm``).

The ops run eagerly on real tensors. Called here (``ops.mean(x)``) on the symbolic tensors of the
functional API, as Keras 3 allows, they add a node to the graph instead (symbolic.py); so do
Python operators on symbolic tensors (``x + inputs``, ``x[:, -1]``).
"""

from lstmkit.keras.engine import registry as _registry
from lstmkit.keras.ops import arrays, core, math, nn, numpy, symbolic
from lstmkit.keras.ops.arrays import *  # noqa: F403
from lstmkit.keras.ops.core import *  # noqa: F403
from lstmkit.keras.ops.math import *  # noqa: F403
from lstmkit.keras.ops.nn import *  # noqa: F403
from lstmkit.keras.ops.numpy import *  # noqa: F403

__all__ = sorted({*arrays.__all__, *core.__all__, *math.__all__, *nn.__all__, *numpy.__all__,
                  "arrays", "core", "math", "nn", "numpy"})

for _name in __all__:
    _fn = globals()[_name]
    if callable(_fn) and not isinstance(_fn, type(core)) and _name not in symbolic.EAGER_ONLY:
        globals()[_name] = symbolic.symbolic_aware(_name, _fn)
        for _module in (arrays, core, math, nn, numpy):  # ops.nn.relu is ops.relu, as in Keras
            if getattr(_module, _name, None) is _fn:
                setattr(_module, _name, globals()[_name])


def _symbolic_op(name: str):
    """The public op ``name`` (for the operators of ``KerasTensor``, which cannot import ops)."""
    return globals()[name]


_registry.add_resolver("symbolic_op", _symbolic_op)
