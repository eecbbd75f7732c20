"""Preprocessing layers: TextVectorization, StringLookup, IntegerLookup, CategoryEncoding,
Normalization (Keras: keras/src/layers/preprocessing); ``index_lookup`` holds the lookups' shared
vocabulary code. Names resolve lazily to their modules."""

from lstmkit._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "TextVectorization": "text_vectorization", "Normalization": "normalization", "StringLookup": "string_lookup",
    "IntegerLookup": "integer_lookup", "CategoryEncoding": "category_encoding"})
