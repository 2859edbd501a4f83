"""Analysis: one module per domain, pure computations — DataFrames and plain values in,
DataFrames or small dataclasses out; no files, no language. Imports core and load."""
