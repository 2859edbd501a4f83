"""Run: executing the playbook — notebook discovery, the kernel server, the papermill engine,
a shop's run and the batch. The top layer; only nb.py and cli.py sit above it."""
