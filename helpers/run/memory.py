"""How many notebooks a run can afford side by side: memory fitted per order line
(``bench/RESULTS.md``), within the machine's available memory or ``PLAYBOOK_MAX_MEMORY``.
"""

from __future__ import annotations

import os
import re

from helpers.core.errors import ConfigError

__all__ = ["MEMORY_SHARE", "auto_jobs", "memory_cap"]

# Memory of a run, for auto_jobs (MB; fitted in bench/RESULTS.md).
NB_BASE_MB, SHOP_MB_PER_LINE, NB_MB_PER_LINE = 1000, 0.00053, 0.00016


MEMORY_SHARE = 0.6  # of the available memory a run may plan to use

_UNITS = {"": 2**20, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}


def memory_cap() -> float | None:
    """``PLAYBOOK_MAX_MEMORY`` in bytes (``8G``, ``8GB``, ``6000M``, ``6000`` = MB), or None.

    Raises
    ------
    ConfigError
        ``PLAYBOOK_MAX_MEMORY`` is not a size.
    """
    cap = os.environ.get("PLAYBOOK_MAX_MEMORY", "").strip()
    if not cap:
        return None
    m = re.fullmatch(r"(?i)(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?", cap)
    if not m:
        raise ConfigError("PLAYBOOK_MAX_MEMORY", f"{cap!r} is not a size such as 8G or 6000M")
    return float(m.group(1)) * _UNITS[m.group(2).lower()]


def auto_jobs(order_lines: int, shop_loaded: bool = False) -> int:
    """Notebooks to run side by side: 2 on a machine with 2+ cores and the memory for two.

    Memory of a run ~ ``NB_BASE_MB`` + the shop (``SHOP_MB_PER_LINE`` per order line, loaded
    once by the kernel server and shared) + each running notebook's own
    (``NB_MB_PER_LINE`` per line), fitted on the 10M bench shop when a run took 9.4 GiB PSS
    with two notebooks at once (7.8 GiB with one); it now takes 7.2 GiB (bench/RESULTS.md,
    issue 21's seventh round), so the model errs on the side of one. Two run at once
    only when what is still to come fits in ``MEMORY_SHARE`` of the memory available now
    (on a 24 GB machine, up to about 15M order lines; see the test) and the whole run, shop
    included, fits in :func:`memory_cap` when ``PLAYBOOK_MAX_MEMORY`` is set.
    ``shop_loaded``: the kernel server holds the shop already, so its memory is no longer
    available and is not counted again against it. One notebook at a time is the least a
    run can do: the cap cannot make a notebook smaller.
    """
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        cpus = os.cpu_count() or 1
    if cpus < 2:
        return 1
    import psutil

    notebooks = NB_BASE_MB + 2 * NB_MB_PER_LINE * order_lines
    shop = SHOP_MB_PER_LINE * order_lines
    to_come = notebooks + (0 if shop_loaded else shop)
    fits = to_come * 2**20 <= psutil.virtual_memory().available * MEMORY_SHARE
    cap = memory_cap()
    if cap is not None:
        fits = fits and (notebooks + shop) * 2**20 <= cap
    return 2 if fits else 1
