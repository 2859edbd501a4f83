"""A cache of the charts' PNGs, keyed by everything that decides their pixels.

A re-run whose data has not changed (a parameter changed in one notebook, a report made
again, the batch run twice) draws the same figures again: drawing and compressing them is
most of a notebook's time. :func:`key` hashes a figure as it is about to be drawn, so a
figure whose every artist, value and setting is the same is drawn once and its PNG reused.

The key is a BLAKE2b hash of

* the figure pickled: its artists, data, transforms, colours, fonts asked for, locators and
  formatters (without what differs between two builds of the same figure: transforms'
  links keyed by object ids, pyplot's figure number);
* the rcParams at drawing time, and the PNG's settings (resolution, padding, the chart
  language that tick labels such as 万/K follow);
* what else goes into the pixels: the versions of matplotlib, FreeType, Pillow, numpy,
  pandas and seaborn, the fonts matplotlib knows (file, size, time of change), the helpers
  package's version, sources and data files (:func:`helpers.core.fingerprint.helpers_fingerprint`,
  as a batch uses), the locale and the time zone.

A function or class a figure refers to must come from a module whose code is in the key
(:data:`KNOWN_MODULES`); one defined in a notebook, or anything that does not pickle (a
lambda formatter), gives no key and the figure is drawn as usual. So does a cache that is
off (``PLAYBOOK_CACHE=off``, or ``PLAYBOOK_CHART_CACHE=off`` for the charts alone) or a
file that cannot be read or written: a miss only costs the drawing.

Files live in ``$PLAYBOOK_CACHE/charts`` (beside the Parquet cache); :func:`prune`, called
at the end of each run, removes the least recently used beyond :data:`MAX_BYTES`.
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
import sys
import types
from pathlib import Path

from helpers.core.fingerprint import helpers_fingerprint

__all__ = ["KNOWN_MODULES", "MAX_BYTES", "folder", "get", "key", "prune", "put", "surroundings"]

MAX_BYTES = 256 << 20  # ~5,000 charts of ~50 KB
# top-level modules whose functions and classes a key may refer to by name: their code is in
# the key (versions, the helpers source) or does not change the drawing
KNOWN_MODULES = frozenset(
    {
        "helpers",
        "matplotlib",
        "mpl_toolkits",
        "numpy",
        "pandas",
        "seaborn",
        "PIL",
        "cycler",
        "dateutil",
        "pytz",
        "zoneinfo",
        "datetime",
        "builtins",
        "copyreg",
        "collections",
        "functools",
        "operator",
        "_operator",
        "_functools",
        "_collections",
        "_codecs",
        "codecs",
        "decimal",
        "_decimal",
        "fractions",
        "numbers",
        "enum",
        "itertools",
        "math",
        "re",
        "weakref",
        "_weakrefset",
    }
)


def folder() -> Path | None:
    """``$PLAYBOOK_CACHE/charts``; None when the cache or the chart cache is off."""
    from helpers.load.shop import cache_root

    root = cache_root()
    if root is None or os.environ.get("PLAYBOOK_CHART_CACHE", "").lower() in ("0", "off"):
        return None
    return root / "charts"


class _Unknown(Exception):
    """A figure refers to code whose changes the key would not see."""


class _Hasher:
    def __init__(self, h) -> None:
        self.write = h.update


_PLAIN, _CODE, _FIGURE, _TRANSFORM = range(4)
_KINDS: dict[type, int] = {}  # type of an object → how it is pickled for a key


def _kind(cls: type) -> int:
    from matplotlib.figure import Figure
    from matplotlib.transforms import TransformNode

    if issubclass(cls, type) or cls is types.FunctionType:
        kind = _CODE
    elif issubclass(cls, Figure):
        kind = _FIGURE
    elif issubclass(cls, TransformNode):
        kind = _TRANSFORM
    else:
        kind = _PLAIN
    _KINDS[cls] = kind
    return kind


class _FigurePickler(pickle.Pickler):
    """Pickle as usual, without what differs between two builds of one figure, and only with
    code the key covers. Whatever else differs between builds only costs a miss. Called for
    each of a figure's thousands of objects: one dictionary lookup for most."""

    def reducer_override(self, obj):
        kind = _KINDS.get(type(obj))
        if kind is None:
            kind = _kind(type(obj))
        if kind == _PLAIN:
            return NotImplemented
        if kind == _CODE:  # by name: its code is not pickled
            mod = getattr(obj, "__module__", None) or ""
            if mod.partition(".")[0] not in KNOWN_MODULES:
                raise _Unknown(f"{mod}.{getattr(obj, '__qualname__', obj)}")
            return NotImplemented
        state = obj.__getstate__()
        if kind == _FIGURE:  # pyplot's figure number: which figure of the session
            state.pop("_number", None)
        else:  # a transform's parents keyed by id(): in their order instead
            state["_parents"] = list(state["_parents"].values())
        return object.__new__, (type(obj),), state


@functools.cache
def surroundings() -> bytes:
    """What else decides the pixels, read once per process (~10 ms; the kernel server reads
    it before forking the kernels)."""
    import locale
    import time

    import matplotlib
    import numpy
    import pandas
    import PIL
    from matplotlib import font_manager, ft2font

    parts = [
        f"matplotlib {matplotlib.__version__} freetype {ft2font.__freetype_version__}",
        f"PIL {PIL.__version__} numpy {numpy.__version__} pandas {pandas.__version__}",
        f"seaborn {getattr(sys.modules.get('seaborn'), '__version__', '-')}",
        f"locale {locale.setlocale(locale.LC_ALL)} tz {os.environ.get('TZ')} {time.tzname}",
    ]
    for f in sorted(font_manager.fontManager.ttflist, key=lambda f: (f.fname, f.name)):
        try:
            st = os.stat(f.fname)
            parts.append(f"{f.fname}|{f.name}|{f.style}|{f.weight}|{st.st_size}|{st.st_mtime_ns}")
        except OSError:
            parts.append(f"{f.fname}|missing")
    parts.append(f"helpers {helpers_fingerprint()}")
    return hashlib.blake2b("\n".join(parts).encode(), digest_size=20).digest()


def key(fig, settings: dict) -> str | None:
    """The cache key of ``fig`` drawn with ``settings`` (plain values: resolution, padding,
    language); None when the cache is off or the figure cannot be keyed safely."""
    if folder() is None:
        return None
    import matplotlib

    h = hashlib.blake2b(surroundings(), digest_size=20)
    try:
        _FigurePickler(_Hasher(h), protocol=5).dump(fig)
    except Exception:  # unpicklable or unknown code: drawn as usual
        return None
    h.update(repr(sorted(matplotlib.rcParams.items())).encode())
    h.update(repr(sorted(settings.items())).encode())
    return h.hexdigest()


def get(k: str | None) -> bytes | None:
    """The PNG stored under ``k``, or None; a hit counts as a use for :func:`prune`."""
    d = folder()
    if not k or d is None:
        return None
    path = d / f"{k}.png"
    try:
        data = path.read_bytes()
        os.utime(path)
    except OSError:
        return None
    return data


def put(k: str | None, data: bytes) -> None:
    """Store ``data`` under ``k`` (written aside, then renamed: a reader sees all or none)."""
    d = folder()
    if not k or d is None:
        return
    tmp = d / f".{k}.{os.getpid()}"
    try:
        d.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(data)
        os.replace(tmp, d / f"{k}.png")
    except OSError:
        tmp.unlink(missing_ok=True)


def prune(max_bytes: int = MAX_BYTES) -> int:
    """Remove the least recently used PNGs until the folder holds at most ``max_bytes``;
    returns how many were removed."""
    d = folder()
    if d is None or not d.is_dir():
        return 0
    files = []
    for e in os.scandir(d):
        try:
            st = e.stat()
        except OSError:
            continue
        files.append((st.st_mtime_ns, st.st_size, e.path))
    total, removed = sum(f[1] for f in files), 0
    for _, size, path in sorted(files):
        if total <= max_bytes:
            break
        try:
            os.unlink(path)
        except OSError:
            continue
        total -= size
        removed += 1
    return removed
