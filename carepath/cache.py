"""The on-disk cache of finished replications, in a format that cannot run code.

Why no pickles: unpickling a file runs whatever the file says. A results folder is often shared
(a team drive, a copied `results/`), so anyone who can write one `*.pkl` into `OUT/.cache` could
run code as the next user to resume an experiment; a file copied over another's, or flipped bits,
loaded silently with wrong numbers.

So each entry is a numpy `.npz` archive, read with `allow_pickle=False` (no object arrays), of
plain numeric arrays and one JSON document:

    meta.npy     uint8, the UTF-8 JSON document: {"format": "carepath-cache", "version": 1,
                 "key": <the cache key>, "arrays": [[name, dtype, shape], ...], "value": <tree>}
    digest.npy   uint8[32], sha256 of the JSON document (so of the key too) and of every array
                 (its name, dtype, shape and bytes), in the order of "arrays"
    a0.npy ...   the arrays: DataFrame columns, column by column

The value tree holds None, bool, int, str and finite floats as themselves, lists as JSON arrays,
and the rest as one-key objects: {"float": "nan"|"inf"|"-inf"}, {"tuple": [...]},
{"dict": [[key, value], ...]}, {"numpy": dtype, "value": v} (a numpy scalar) and
{"frame": {...}} (a DataFrame: its index, its column labels, its columns and `attrs`). A column is
a numpy array of its own dtype (int, uint, float, complex, bool, datetime64, timedelta64); a
nullable Int/Float/boolean column is its data and its mask; a string column (`str`, `string` or
`object` of strings) is int32 codes into its distinct strings, stored as UTF-8 bytes and offsets,
with codes -1, -2, -3 for None, NaN and pd.NA (so an object column keeps None apart from NaN); an
object column of other plain scalars (mixed int and str labels, say) is a JSON list; a
categorical is its codes and its categories (an index, stored the same way) and `ordered`. An
index is a RangeIndex (start, stop, step), or a column (with its frequency for a DatetimeIndex or
TimedeltaIndex). Anything else (a MultiIndex, a timezone, a Series, a set, bytes, ...) is refused
when written (TypeError), never stored approximately.

An entry is used only when every check passes: a readable zip of exactly the expected members,
each a plain array of the announced dtype and shape, the checksum matching, the stored key equal
to the key asked for (a file copied over another's is refused) and the tree well formed. Otherwise
`get` returns None, so the caller runs the replication again and overwrites the entry, and one
plain warning line names the file. Nothing a damaged file can raise escapes `get`.

The checksum finds accidents (bit flips, truncation, copies), not forgeries: anyone who can write
the folder can still write a well-formed entry with other numbers, but can no longer run code.

Writes go through carepath's one atomic writer (`carepath.outputs.atomic_write`: a temporary file
in the same folder with the permissions the user's umask gives, flushed to disk, then renamed
over the entry).
Cache files from earlier versions (`*.pkl`) are never opened; they are mentioned once.
"""
from __future__ import annotations

import hashlib
import hmac
import io
import json
import math
import os
import re
import sys
import zipfile
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np
import pandas as pd

from .outputs import atomic_write

__all__ = ["Cache", "CacheEntryError", "encode_entry", "decode_entry"]

FORMAT = "carepath-cache"
VERSION = 1
SUFFIX = ".npz"
_MAGIC = b"carepath-cache-v1\n"

MAX_FILE_BYTES = 1 << 30           # an entry larger than this on disk is not ours
MAX_UNPACKED_BYTES = 4 << 30       # nor one whose members say they unpack to more than this
_SAFE_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")
_NUMERIC_KINDS = frozenset("biufcmM")   # bool, int, uint, float, complex, timedelta64, datetime64
_MASKED = {"Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64",
           "Float32", "Float64", "boolean"}
_MISSING_NONE, _MISSING_NAN, _MISSING_NA = -1, -2, -3
_SCALAR_DTYPES = {"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
                  "float16", "float32", "float64"}

_pkl_mentioned: set[str] = set()


class CacheEntryError(Exception):
    """A cache entry that must not be used; the message says why, for the warning line."""


def _default_warn(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------ the cache
class Cache:
    """One `.npz` entry per finished replication, checked on read and written atomically.

    `Cache(None)` caches nothing: `get` returns None and `put` does nothing.
    `warn` receives each warning line (default: printed to standard error)."""

    def __init__(self, folder: Optional[Path], warn: Optional[Callable[[str], None]] = None):
        self.folder = Path(folder) if folder else None
        self.warn = warn or _default_warn
        if self.folder:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._mention_old_pickles()

    def _mention_old_pickles(self) -> None:
        where = str(self.folder.resolve())
        if where in _pkl_mentioned:
            return
        try:
            old = sum(1 for p in self.folder.glob("*.pkl") if not p.name.startswith("."))
        except OSError:
            return
        if old:
            _pkl_mentioned.add(where)
            self.warn(f"carepath: ignoring {old} cache file{'s' if old != 1 else ''} of an earlier version "
                      f"(*.pkl) in {self.folder}: they are never opened, and can be deleted")

    def path(self, key: str) -> Optional[Path]:
        """The file of `key`: the key itself when it is a plain short name, else its sha256."""
        if self.folder is None:
            return None
        if not isinstance(key, str):
            raise TypeError(f"a cache key is a str, not {type(key).__name__}")
        if _SAFE_KEY.fullmatch(key):
            name = key
        else:
            name = "k-" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
        return self.folder / f"{name}{SUFFIX}"

    _path = path   # the name experiments/run.py used

    def get(self, key: str):
        """The value stored under `key`, or None (nothing stored, or an entry that fails a check)."""
        p = self.path(key)
        if p is None:
            return None
        try:
            with open(p, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                if size > MAX_FILE_BYTES:
                    raise CacheEntryError(f"it is {size} bytes, larger than any cache entry")
                data = f.read(MAX_FILE_BYTES + 1)
        except FileNotFoundError:
            return None
        except CacheEntryError as exc:
            self._refuse(p, str(exc))
            return None
        except (OSError, ValueError) as exc:
            self._refuse(p, f"it cannot be read: {_describe(exc)}", damaged=False)
            return None
        try:
            return decode_entry(data, key)
        except CacheEntryError as exc:
            self._refuse(p, str(exc))
        except MemoryError:
            self._refuse(p, "it is too large to read")
        except Exception as exc:   # noqa: BLE001 - whatever a crafted file provokes, it is not used
            self._refuse(p, f"it is not a readable cache entry: {_describe(exc)}")
        return None

    def _refuse(self, p: Path, why: str, damaged: bool = True) -> None:
        what = "a damaged cache entry" if damaged else "a cache entry"
        self.warn(f"carepath: ignoring {what} {p} ({why}); recomputing it")

    def put(self, key: str, value) -> None:
        """Store `value` under `key` (TypeError for a value this format cannot hold exactly)."""
        p = self.path(key)
        if p is None:
            return
        blob = encode_entry(key, value)
        atomic_write(p, lambda tmp: tmp.write_bytes(blob))


# ------------------------------------------------------------------------------------ writing
class _Writer:
    def __init__(self):
        self.arrays: list[np.ndarray] = []

    def add(self, arr: np.ndarray) -> str:
        arr = np.ascontiguousarray(arr)
        if arr.dtype.kind not in _NUMERIC_KINDS or arr.dtype.fields is not None:
            raise TypeError(f"cannot cache an array of dtype {arr.dtype}")
        self.arrays.append(arr)
        return f"a{len(self.arrays) - 1}"

    # plain values, frames
    def value(self, x) -> Any:
        t = type(x)
        if x is None or t is bool or t is str:
            return x
        if t is int:
            return x
        if t is float:
            if math.isfinite(x):
                return x
            return {"float": "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")}
        if isinstance(x, np.generic) and x.dtype.name in _SCALAR_DTYPES:
            return {"numpy": x.dtype.name, "value": self.value(x.item())}
        if t is list:
            return [self.value(v) for v in x]
        if t is tuple:
            return {"tuple": [self.value(v) for v in x]}
        if t is dict:
            items = []
            for k, v in x.items():
                _check_label(k)
                items.append([self.value(k), self.value(v)])
            return {"dict": items}
        if t is pd.DataFrame:
            return {"frame": self.frame(x)}
        raise TypeError(f"cannot cache a value of type {t.__module__}.{t.__qualname__}")

    def frame(self, df: pd.DataFrame) -> dict:
        if df.columns.nlevels != 1 or df.index.nlevels != 1:
            raise TypeError("cannot cache a frame with a MultiIndex")
        data = [self.column(df.iloc[:, i], f"column {df.columns[i]!r}") for i in range(df.shape[1])]
        return {"index": self.index(df.index, "the index"), "columns": self.index(df.columns, "the column labels"),
                "data": data, "attrs": self.value(dict(df.attrs))}

    def index(self, idx: pd.Index, what: str) -> dict:
        _check_label(idx.name)
        if type(idx) is pd.RangeIndex:
            return {"range": [int(idx.start), int(idx.stop), int(idx.step)], "name": self.value(idx.name)}
        if type(idx) in (pd.DatetimeIndex, pd.TimedeltaIndex):
            return {"values": self.column(idx, what), "name": self.value(idx.name), "freq": idx.freqstr}
        if type(idx) not in (pd.Index, pd.CategoricalIndex):
            raise TypeError(f"cannot cache {what}: a {type(idx).__name__}")
        return {"values": self.column(idx, what), "name": self.value(idx.name)}

    def column(self, col, what: str) -> dict:
        """A Series' or an Index's values."""
        dtype = col.dtype
        if isinstance(dtype, np.dtype):
            if dtype.kind in _NUMERIC_KINDS:
                return {"kind": "numpy", "values": self.add(col.to_numpy(copy=False))}
            if dtype.kind == "O":
                values = col.to_numpy(copy=False)
                try:
                    return self.strings({"kind": "object"}, values, what)
                except TypeError:
                    return self.objects(values, what)
            raise TypeError(f"cannot cache {what} of dtype {dtype}")
        if isinstance(dtype, pd.CategoricalDtype):
            cat = col.array
            return {"kind": "category", "ordered": bool(dtype.ordered),
                    "categories": self.index(dtype.categories, f"the categories of {what}"),
                    "codes": self.add(np.asarray(cat.codes))}
        if isinstance(dtype, pd.StringDtype):
            na = "nan" if _is_float_nan(dtype.na_value) else "NA"
            if na == "NA" and dtype.na_value is not pd.NA:
                raise TypeError(f"cannot cache {what} of dtype {dtype!r}")
            return self.strings({"kind": "string", "storage": dtype.storage, "na": na},
                                col.array.to_numpy(dtype=object), what)
        if str(dtype) in _MASKED and isinstance(col.array, (pd.arrays.IntegerArray, pd.arrays.FloatingArray,
                                                             pd.arrays.BooleanArray)):
            arr = col.array
            return {"kind": "masked", "dtype": str(dtype), "data": self.add(np.asarray(arr._data)),
                    "mask": self.add(np.asarray(arr._mask, dtype=bool))}
        raise TypeError(f"cannot cache {what} of dtype {dtype}")

    def objects(self, values: np.ndarray, what: str) -> dict:
        """An object column of other plain scalars (say mixed int and str labels), as JSON."""
        out = []
        for v in values:
            if not (v is None or v is pd.NA or type(v) in (bool, int, float, str)
                    or (isinstance(v, np.generic) and v.dtype.name in _SCALAR_DTYPES)):
                raise TypeError(f"cannot cache {what}: it holds a {type(v).__name__} ({v!r})")
            out.append({"NA": 0} if v is pd.NA else self.value(v))
        return {"kind": "objects", "values": out}

    def strings(self, spec: dict, values: np.ndarray, what: str) -> dict:
        codes = np.empty(len(values), dtype=np.int32)
        seen: dict[str, int] = {}
        for i, v in enumerate(values):
            if isinstance(v, str):
                c = seen.get(v)
                if c is None:
                    c = seen[v] = len(seen)
                codes[i] = c
            elif v is None:
                codes[i] = _MISSING_NONE
            elif v is pd.NA:
                codes[i] = _MISSING_NA
            elif _is_float_nan(v):
                codes[i] = _MISSING_NAN
            else:
                raise TypeError(f"cannot cache {what}: it holds a {type(v).__name__} ({v!r}), not only strings")
        if len(seen) > np.iinfo(np.int32).max:   # pragma: no cover
            raise TypeError(f"cannot cache {what}: too many distinct strings")
        pieces = [s.encode("utf-8", "surrogatepass") for s in seen]
        offsets = np.zeros(len(pieces) + 1, dtype=np.int64)
        np.cumsum([len(b) for b in pieces], out=offsets[1:])
        text = np.frombuffer(b"".join(pieces), dtype=np.uint8)
        return {**spec, "codes": self.add(codes), "text": self.add(text), "offsets": self.add(offsets)}


def _is_float_nan(v) -> bool:
    return isinstance(v, float) and math.isnan(v)


def _check_label(k) -> None:
    """A dict key or an index name: a hashable plain value."""
    if k is None or type(k) in (bool, int, float, str):
        return
    if type(k) is tuple:
        for v in k:
            _check_label(v)
        return
    raise TypeError(f"cannot cache a label of type {type(k).__name__}")


def _digest(meta: bytes, arrays: list[np.ndarray]) -> bytes:
    """sha256 of the JSON document (which holds the key) and of each array's dtype, shape and bytes."""
    h = hashlib.sha256(_MAGIC)
    h.update(len(meta).to_bytes(8, "little"))
    h.update(meta)
    for i, arr in enumerate(arrays):
        head = json.dumps([f"a{i}", arr.dtype.str, list(arr.shape)]).encode()
        h.update(len(head).to_bytes(8, "little"))
        h.update(head)
        body = np.ascontiguousarray(arr).tobytes()
        h.update(len(body).to_bytes(8, "little"))
        h.update(body)
    return h.digest()


def encode_entry(key: str, value) -> bytes:
    """The bytes of the `.npz` entry holding `value` under `key`."""
    if not isinstance(key, str):
        raise TypeError(f"a cache key is a str, not {type(key).__name__}")
    w = _Writer()
    tree = w.value(value)
    names = [f"a{i}" for i in range(len(w.arrays))]
    meta = {"format": FORMAT, "version": VERSION, "key": key,
            "arrays": [[n, a.dtype.str, list(a.shape)] for n, a in zip(names, w.arrays)], "value": tree}
    meta_bytes = json.dumps(meta, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")
    digest = _digest(meta_bytes, w.arrays)
    buf = io.BytesIO()
    members = [("meta", np.frombuffer(meta_bytes, dtype=np.uint8)), ("digest", np.frombuffer(digest, dtype=np.uint8))]
    members += list(zip(names, w.arrays))
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, arr in members:
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            with zf.open(info, "w", force_zip64=arr.nbytes > (1 << 30)) as f:
                np.lib.format.write_array(f, arr, allow_pickle=False)
    return buf.getvalue()


# ------------------------------------------------------------------------------------ reading
def _describe(exc: BaseException) -> str:
    """An exception as a short single line: its type and the start of its message."""
    kind = type(exc).__qualname__
    if type(exc).__module__ not in ("builtins", "zipfile"):
        kind = f"{type(exc).__module__}.{kind}"
    text = " ".join(str(exc).split())
    if len(text) > 80:
        text = text[:77] + "..."
    return f"{kind}: {text}" if text else kind


def _no_constants(name):
    raise CacheEntryError(f"its description holds {name}")


def _unique_pairs(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            raise CacheEntryError("its description repeats a field")
        out[k] = v
    return out


def _read_member(zf: zipfile.ZipFile, name: str) -> np.ndarray:
    with zf.open(name) as f:
        arr = np.lib.format.read_array(f, allow_pickle=False)
        if f.read(1):
            raise CacheEntryError(f"member {name} has bytes after its array")
    if not isinstance(arr, np.ndarray) or arr.dtype.kind not in _NUMERIC_KINDS or arr.dtype.fields is not None:
        raise CacheEntryError(f"member {name} is not a plain numeric array")
    return arr


def decode_entry(data: bytes, key: str):
    """The value in entry `data`, which must be the entry of `key`; CacheEntryError if it is not usable."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except Exception as exc:   # noqa: BLE001 - BadZipFile, ValueError, EOFError, NotImplementedError, ...
        raise CacheEntryError(f"it is not a readable archive: {_describe(exc)}") from None
    try:
        with zf:
            infos = zf.infolist()
            names = [i.filename for i in infos]
            n_arrays = len(names) - 2
            if sorted(names) != sorted(["meta.npy", "digest.npy"] + [f"a{i}.npy" for i in range(max(n_arrays, 0))]):
                raise CacheEntryError("its archive does not hold the members of a cache entry")
            for i in infos:
                if i.flag_bits & 0x1:
                    raise CacheEntryError("its archive is encrypted")
                if i.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                    raise CacheEntryError("its archive uses an unexpected compression")
            if sum(i.file_size for i in infos) > MAX_UNPACKED_BYTES:
                raise CacheEntryError("its archive says it unpacks to more than any cache entry")
            meta_arr = _read_member(zf, "meta.npy")
            digest_arr = _read_member(zf, "digest.npy")
            arrays = [_read_member(zf, f"a{i}.npy") for i in range(n_arrays)]
    except CacheEntryError:
        raise
    except Exception as exc:   # noqa: BLE001 - zipfile, zlib and numpy raise many kinds on a damaged file
        raise CacheEntryError(f"it is not a readable archive: {_describe(exc)}") from None
    if meta_arr.dtype != np.uint8 or meta_arr.ndim != 1 or digest_arr.dtype != np.uint8 or digest_arr.shape != (32,):
        raise CacheEntryError("its description or its checksum has the wrong form")
    meta_bytes = meta_arr.tobytes()
    if not hmac.compare_digest(_digest(meta_bytes, arrays), digest_arr.tobytes()):
        raise CacheEntryError("its contents do not match its checksum")
    try:
        meta = json.loads(meta_bytes.decode("ascii"), parse_constant=_no_constants, object_pairs_hook=_unique_pairs)
    except CacheEntryError:
        raise
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise CacheEntryError("its description is not a JSON document") from None
    if (type(meta) is not dict or set(meta) != {"format", "version", "key", "arrays", "value"}
            or meta["format"] != FORMAT or meta["version"] != VERSION or type(meta["key"]) is not str):
        raise CacheEntryError("its description is not that of a cache entry of this version")
    if meta["arrays"] != [[f"a{i}", a.dtype.str, list(a.shape)] for i, a in enumerate(arrays)]:
        raise CacheEntryError("its arrays are not those its description announces")
    if meta["key"] != key:
        raise CacheEntryError("it is the entry of another key: a file copied over this one's?")
    try:
        return _Reader({f"a{i}": a for i, a in enumerate(arrays)}).value(meta["value"])
    except CacheEntryError:
        raise
    except Exception as exc:   # noqa: BLE001
        raise CacheEntryError(f"it holds something unexpected: {_describe(exc)}") from None


class _Reader:
    def __init__(self, arrays: dict[str, np.ndarray]):
        self.arrays = arrays
        self.used: set[str] = set()

    def array(self, name) -> np.ndarray:
        if type(name) is not str or name not in self.arrays or name in self.used:
            raise CacheEntryError("it refers to an array it does not hold")
        self.used.add(name)
        arr = self.arrays[name]
        return arr if arr.flags.writeable else arr.copy()

    def value(self, t):
        top = self._value(t)
        if self.used != set(self.arrays):
            raise CacheEntryError("it holds arrays it does not use")
        return top

    def _value(self, t):
        if t is None or type(t) in (bool, int, str):
            return t
        if type(t) is float:
            if not math.isfinite(t):
                raise CacheEntryError("its value tree is malformed")
            return t
        if type(t) is list:
            return [self._value(v) for v in t]
        if type(t) is dict and set(t) == {"numpy", "value"}:
            tag, body = "numpy", t["numpy"]
        elif type(t) is dict and len(t) == 1:
            (tag, body), = t.items()
        else:
            raise CacheEntryError("its value tree is malformed")
        if tag == "float":
            if body not in ("nan", "inf", "-inf"):
                raise CacheEntryError("its value tree is malformed")
            return float(body)
        if tag == "tuple" and type(body) is list:
            return tuple(self._value(v) for v in body)
        if tag == "dict" and type(body) is list:
            out = {}
            for pair in body:
                if type(pair) is not list or len(pair) != 2:
                    raise CacheEntryError("its value tree is malformed")
                k = self._value(pair[0])
                _check_label(k)
                if k in out:
                    raise CacheEntryError("its value tree repeats a key")
                out[k] = self._value(pair[1])
            return out
        if tag == "numpy" and body in _SCALAR_DTYPES and set(t) == {"numpy", "value"}:
            v = self._value(t["value"])
            if type(v) not in (bool, int, float):
                raise CacheEntryError("its value tree is malformed")
            out = np.dtype(body).type(v)
            if out.item() != v and not (type(v) is float and math.isnan(v)):
                raise CacheEntryError("its value tree is malformed")
            return out
        if tag == "frame" and type(body) is dict:
            return self.frame(body)
        raise CacheEntryError("its value tree is malformed")

    def _fields(self, d, *names):
        if type(d) is not dict or set(d) != set(names):
            raise CacheEntryError("its description of a frame is malformed")
        return [d[n] for n in names]

    def frame(self, d) -> pd.DataFrame:
        index, columns, data, attrs = self._fields(d, "index", "columns", "data", "attrs")
        idx = self.index(index)
        cols = self.index(columns)
        if type(data) is not list or len(data) != len(cols):
            raise CacheEntryError("its frame has a different number of columns and labels")
        values = [self.column(c) for c in data]
        for v in values:
            if len(v) != len(idx):
                raise CacheEntryError("its frame has columns of another length than its index")
        # Series of their own dtype, on the one index object (so an object column is not inferred as str)
        df = pd.DataFrame({i: pd.Series(v, index=idx, dtype=v.dtype, copy=False) for i, v in enumerate(values)},
                          index=idx, copy=False)
        df.columns = cols
        a = self._value(attrs)
        if type(a) is not dict:
            raise CacheEntryError("its description of a frame is malformed")
        df.attrs = a
        return df

    def index(self, d) -> pd.Index:
        if type(d) is dict and "range" in d:
            rng, name = self._fields(d, "range", "name")
            if type(rng) is not list or len(rng) != 3 or not all(type(x) is int for x in rng) or rng[2] == 0:
                raise CacheEntryError("its description of an index is malformed")
            return pd.RangeIndex(*rng, name=self._label(name))
        if type(d) is dict and "freq" in d:   # a DatetimeIndex or TimedeltaIndex, with its frequency
            values, name, freq = self._fields(d, "values", "name", "freq")
            arr = self.column(values)
            if not (freq is None or type(freq) is str) or not (isinstance(arr, np.ndarray) and arr.dtype.kind in "mM"):
                raise CacheEntryError("its description of an index is malformed")
            make = pd.DatetimeIndex if arr.dtype.kind == "M" else pd.TimedeltaIndex
            return make(arr, freq=freq, name=self._label(name), copy=False)
        values, name = self._fields(d, "values", "name")
        arr = self.column(values)
        return pd.Index(arr, dtype=arr.dtype, name=self._label(name), copy=False)

    def _label(self, t):
        v = self._value(t)
        _check_label(v)
        return v

    def column(self, d):
        if type(d) is not dict or "kind" not in d:
            raise CacheEntryError("its description of a column is malformed")
        kind = d["kind"]
        if kind == "numpy":
            (_, values) = self._fields(d, "kind", "values")
            arr = self.array(values)
            if arr.ndim != 1:
                raise CacheEntryError("a column is not one-dimensional")
            return arr
        if kind == "masked":
            _, dtype, data, mask = self._fields(d, "kind", "dtype", "data", "mask")
            if dtype not in _MASKED:
                raise CacheEntryError("its description of a column is malformed")
            data, mask = self.array(data), self.array(mask)
            if data.ndim != 1 or mask.dtype != np.bool_ or mask.shape != data.shape:
                raise CacheEntryError("a nullable column's mask does not fit its data")
            want = pd.api.types.pandas_dtype(dtype)
            if data.dtype != want.numpy_dtype:
                raise CacheEntryError("a nullable column's data has the wrong dtype")
            kinds = {"b": pd.arrays.BooleanArray, "f": pd.arrays.FloatingArray}
            cls = kinds.get(data.dtype.kind, pd.arrays.IntegerArray)
            return cls(data, mask)
        if kind == "category":
            _, ordered, categories, codes = self._fields(d, "kind", "ordered", "categories", "codes")
            if type(ordered) is not bool:
                raise CacheEntryError("its description of a column is malformed")
            cats = self.index(categories)
            codes = self.array(codes)
            if codes.ndim != 1 or codes.dtype.kind != "i":
                raise CacheEntryError("a categorical column's codes are not integers")
            out = pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(cats, ordered=ordered))
            if out.codes.dtype != codes.dtype:
                raise CacheEntryError("a categorical column's codes have an unexpected dtype")
            return out
        if kind == "object":
            _, codes, text, offsets = self._fields(d, "kind", "codes", "text", "offsets")
            return self.strings(codes, text, offsets, allow=(_MISSING_NONE, _MISSING_NAN, _MISSING_NA))
        if kind == "objects":
            _, values = self._fields(d, "kind", "values")
            if type(values) is not list:
                raise CacheEntryError("its description of a column is malformed")
            out = np.empty(len(values), dtype=object)
            for i, t in enumerate(values):
                v = pd.NA if t == {"NA": 0} else self._value(t)
                if not (v is None or v is pd.NA or type(v) in (bool, int, float, str) or isinstance(v, np.generic)):
                    raise CacheEntryError("an object column holds something unexpected")
                out[i] = v
            return out
        if kind == "string":
            _, storage, na, codes, text, offsets = self._fields(d, "kind", "storage", "na", "codes", "text", "offsets")
            if storage not in ("python", "pyarrow") or na not in ("nan", "NA"):
                raise CacheEntryError("its description of a column is malformed")
            missing = _MISSING_NAN if na == "nan" else _MISSING_NA
            objs = self.strings(codes, text, offsets, allow=(missing,))
            return pd.array(objs, dtype=pd.StringDtype(storage, na_value=np.nan if na == "nan" else pd.NA))
        raise CacheEntryError("its description of a column is malformed")

    def strings(self, codes, text, offsets, allow) -> np.ndarray:
        codes, text, offsets = self.array(codes), self.array(text), self.array(offsets)
        if (codes.dtype != np.int32 or codes.ndim != 1 or text.dtype != np.uint8 or text.ndim != 1
                or offsets.dtype != np.int64 or offsets.ndim != 1 or len(offsets) < 1 or offsets[0] != 0
                or offsets[-1] != len(text) or np.any(np.diff(offsets) < 0)):
            raise CacheEntryError("a string column is malformed")
        raw = text.tobytes()
        n = len(offsets) - 1
        words = [raw[offsets[i]:offsets[i + 1]].decode("utf-8", "surrogatepass") for i in range(n)]
        if len(set(words)) != n:
            raise CacheEntryError("a string column repeats a string")
        if len(codes) and (codes.max() >= n or codes.min() < min(allow, default=0)
                           or any(c not in allow for c in set(codes[codes < 0].tolist()))):
            raise CacheEntryError("a string column's codes are out of range")
        table = np.empty(n + 3, dtype=object)
        table[:n] = np.array(words, dtype=object)   # dtype=object: no fixed-width unicode in between
        table[n + 3 + _MISSING_NONE] = None   # codes -1, -2, -3: the last three slots
        table[n + 3 + _MISSING_NAN] = np.nan
        table[n + 3 + _MISSING_NA] = pd.NA
        return table[np.where(codes >= 0, codes, n + 3 + codes)]
