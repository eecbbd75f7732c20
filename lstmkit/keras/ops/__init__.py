"""``lstmkit.keras.ops``: the ``keras.ops`` functions that custom layers, cells and models call in
their ``call`` / ``train_step``, on torch tensors (NumPy arrays and Python numbers are converted
as everywhere in lstmkit.keras: floats to float32, integers to int64).

Split by theme, as Keras' own ops: core.py (conversion, ``cast``, ``shape``, eager control flow,
slicing), numpy.py (arithmetic, comparisons, reductions), arrays.py (creation, shapes, joining,
indexing), nn.py (activations, softmax, ``one_hot``, cross-entropies; also reachable as
``ops.nn``, like ``keras.ops.nn``) and math.py (``erf``, ``logsumexp``, ``top_k``, ``norm``).

The ops run eagerly; on the symbolic tensors of the functional API they raise a TypeError that
points to a Layer subclass or a Lambda layer.
"""

from lstmkit.keras.ops import arrays, core, math, nn, numpy
from lstmkit.keras.ops.arrays import *  # noqa: F403
from lstmkit.keras.ops.core import *  # noqa: F403
from lstmkit.keras.ops.math import *  # noqa: F403
from lstmkit.keras.ops.nn import *  # noqa: F403
from lstmkit.keras.ops.numpy import *  # noqa: F403

__all__ = sorted({*arrays.__all__, *core.__all__, *math.__all__, *nn.__all__, *numpy.__all__,
                  "arrays", "core", "math", "nn", "numpy"})
