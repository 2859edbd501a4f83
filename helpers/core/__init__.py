"""Core: the definitions everything else shares — errors, the canonical schema, the calendar,
id codes and sales lines. Imports nothing else of the package."""
