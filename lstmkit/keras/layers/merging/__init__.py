"""Merging layers: Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate (``merge``)
and Dot (``dot``), with their functional forms (Keras: keras/src/layers/merging). Names resolve
lazily to their modules."""

from lstmkit._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    **{name: "merge" for name in ("Concatenate", "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum",
                                  "concatenate", "add", "subtract", "multiply", "average", "maximum", "minimum")},
    "Dot": "dot", "dot": "dot"})
