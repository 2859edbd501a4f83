"""Datasets: the deterministic sample-shop generator and the committed sample shops
(``python -m helpers.datasets.sample_shops data/sample``). Imports core and load."""
