"""Present: how results are shown — the message catalogue and number formats (narrative) and
the charts (take computed tables, return an Axes). Imports core, load and analysis."""
