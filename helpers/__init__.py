"""E-commerce operations playbook: the helpers the notebooks call, in layers (core, load,
analysis, present, deliver, run; see docs/ARCHITECTURE.md); notebooks import ``helpers.nb``."""
