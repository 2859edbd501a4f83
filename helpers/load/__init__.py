"""Load: from a shop folder to validated canonical tables — config, export adapters, the shop
and its Parquet cache, and the artifacts notebooks hand each other. Imports only core."""
