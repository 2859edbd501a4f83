"""How many notebooks a run can afford side by side: memory fitted per order line
(``bench/RESULTS.md``), within the machine's available memory or ``PLAYBOOK_MAX_MEMORY``.
"""

from __future__ import annotations

import os
import re

from helpers.core.errors import ConfigError

__all__ = ["MEMORY_SHARE", "auto_jobs", "memory_budget"]

# Memory of a run, for auto_jobs (MB; fitted in bench/RESULTS.md).
NB_BASE_MB, SHOP_MB_PER_LINE, NB_MB_PER_LINE = 1000, 0.00065, 0.00021


MEMORY_SHARE = 0.6  # of the available memory a run may plan to use

_UNITS = {"": 2**20, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}


def memory_budget() -> float:
    """Bytes a run may plan to use: ``MEMORY_SHARE`` of the memory available now, and no
    more than ``PLAYBOOK_MAX_MEMORY`` when set (``8G``, ``8GB``, ``6000M``, ``6000`` = MB).

    Raises
    ------
    ConfigError
        ``PLAYBOOK_MAX_MEMORY`` is not a size.
    """
    import psutil

    budget = psutil.virtual_memory().available * MEMORY_SHARE
    cap = os.environ.get("PLAYBOOK_MAX_MEMORY", "").strip()
    if cap:
        m = re.fullmatch(r"(?i)(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?", cap)
        if not m:
            raise ConfigError("PLAYBOOK_MAX_MEMORY", f"{cap!r} is not a size such as 8G or 6000M")
        budget = min(budget, float(m.group(1)) * _UNITS[m.group(2).lower()])
    return budget


def auto_jobs(order_lines: int, shop_loaded: bool = False) -> int:
    """Notebooks to run side by side: 2 on a machine with 2+ cores and the memory for two.

    Memory of a run ~ ``NB_BASE_MB`` + the shop (``SHOP_MB_PER_LINE`` per order line, loaded
    once by the kernel server and shared) + each running notebook's own
    (``NB_MB_PER_LINE`` per line), fitted on the 1M and 10M bench shops (bench/RESULTS.md:
    2.0 GB and 11.6 GB with two notebooks at once, 9.5 GB with one at 10M); two run at once
    only when that fits in :func:`memory_budget` (``MEMORY_SHARE`` of the memory available
    now, capped by ``PLAYBOOK_MAX_MEMORY``): on a 24 GB machine, up to about 12M order lines
    (see the test). ``shop_loaded``: the kernel server holds the shop already, so
    its memory is no longer available and is not counted again.
    """
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        cpus = os.cpu_count() or 1
    if cpus < 2:
        return 1
    shop = 0 if shop_loaded else SHOP_MB_PER_LINE
    need = NB_BASE_MB + (shop + 2 * NB_MB_PER_LINE) * order_lines
    return 2 if need * 2**20 <= memory_budget() else 1
