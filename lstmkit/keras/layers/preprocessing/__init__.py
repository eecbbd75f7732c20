"""Preprocessing layers: TextVectorization, StringLookup, IntegerLookup, CategoryEncoding (Keras:
keras/src/layers/preprocessing); ``index_lookup`` holds the lookups' shared vocabulary code."""
