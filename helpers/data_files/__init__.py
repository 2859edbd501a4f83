"""Packaged data: the message catalogue, festival calendars and execution templates."""

from pathlib import Path

DATA_DIR = Path(__file__).parent

__all__ = ["DATA_DIR"]
