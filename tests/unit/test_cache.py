"""experiments/cache.py: entries round-trip exactly, and a forged, swapped, bit-flipped, truncated or
empty entry is never used (get returns None with one warning line), never runs code and never
raises. Old pickle files are never opened. All randomness has fixed seeds."""
from __future__ import annotations

import io
import json
import math
import os
import pickle
import shutil
import zipfile

import numpy as np
import pandas as pd
import pytest

from carepath import cache as cache_mod
from carepath.cache import Cache, CacheEntryError, decode_entry, encode_entry

KEY_A = "0123abcd-cold-feedbeef-2024-9f8e7d6c5b4a3928-3-s"
KEY_B = "0123abcd-cold-feedbeef-2024-9f8e7d6c5b4a3928-4-s"


# ------------------------------------------------------------------------------- realistic values
def _summary_like(rep: int, seed: int) -> pd.DataFrame:
    """The shape of sim.measures.summary_by_fy: int64 replication, str year and measure, float64 value."""
    rng = np.random.default_rng(seed)
    years = [f"{y}/{(y + 1) % 100:02d}" for y in range(2021, 2030)]
    measures = ["days_in_horizon", "open_contacts_average", "cic_at_year_end", "cost_total", "£ a week"]
    rows = [(rep, fy, m) for fy in years for m in measures]
    value = rng.gamma(2.0, 1e6, len(rows))
    value[::7] = np.nan
    return pd.DataFrame({"replication": np.full(len(rows), rep, dtype=np.int64),
                         "financial_year": [r[1] for r in rows], "measure": [r[2] for r in rows],
                         "value": value})


def _stocks_like(rep: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    months = [f"{2021 + (m + 3) // 12}-{(m + 3) % 12 + 1:02d}" for m in range(108)]
    measures = ["contact", "assessment", "cin", "cp", "care", "care_agency_foster"]
    rows = [(mo, me) for mo in months for me in measures]
    return pd.DataFrame({"replication": np.full(len(rows), rep, dtype=np.int64),
                         "month": [r[0] for r in rows], "measure": [r[1] for r in rows],
                         "value": rng.poisson(300, len(rows)).astype(np.float64)})


def _replication_like(rep: int = 3, seed: int = 16) -> dict:
    """What experiments.run.replicate returns."""
    return {"summary": _summary_like(rep, seed), "sim_events": 34912 + rep, "wall_seconds": 0.176101864 + rep,
            "stocks": _stocks_like(rep, seed + 1)}


def _awkward_frame() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 12
    obj = np.array(["a", None, np.nan, "", "é£😀", "trailing\x00", "a", None, "b", np.nan, "\ud800", " b "],
                   dtype=object)
    return pd.DataFrame({
        "i64": rng.integers(-2**62, 2**62, n, dtype=np.int64),
        "i8": rng.integers(-128, 127, n, dtype=np.int8),
        "u64": np.array([0, 2**64 - 1] * 6, dtype=np.uint64),
        "f64": np.array([0.1, -0.0, np.inf, -np.inf, np.nan, 1e-310, 1 / 3, 2.0**60, 5e-324, -1.5, 7.0, np.nan]),
        "f32": rng.standard_normal(n).astype(np.float32),
        "flag": rng.random(n) < 0.5,
        "str": pd.array(["x", None, "y", "x", "z", None, "ü", "x", "y", "z", "", "w"], dtype="str"),
        "string_na": pd.array(["p", None, "q", "p", "r", "s", "t", "p", None, "q", "r", "s"], dtype="string"),
        "obj": pd.Series(obj, dtype=object),
        "cat": pd.Categorical(["cin", "cp", None, "care", "cin", "cin", "cp", "care", None, "cp", "cin", "care"],
                              categories=["cin", "cp", "care", "unused"]),
        "cat_ord": pd.Categorical([3, 1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2], categories=[3, 2, 1], ordered=True),
        "Int64": pd.array([1, None, 3, -4, None, 6, 7, 8, 9, None, 11, 12], dtype="Int64"),
        "boolean": pd.array([True, False, None] * 4, dtype="boolean"),
        "Float64": pd.array([0.5, None, 1.5] * 4, dtype="Float64"),
        "when": pd.date_range("2021-04-01", periods=n, freq="MS"),
        "gap": pd.to_timedelta(np.arange(n), unit="D"),
    })


def _frames() -> dict:
    awkward = _awkward_frame()
    labelled = pd.DataFrame({"v": [1.0, 2.0, 3.0]}, index=pd.Index(["a", "b", "c"], name="who"))
    labelled.columns.name = "what"
    dup = pd.DataFrame([[1, 2.5, "x"], [3, 4.5, None]], columns=["a", "a", 7])
    dup.attrs = {"source": "test", "n": 2}
    return {
        "awkward": awkward,
        "empty": pd.DataFrame(),
        "empty_with_columns": pd.DataFrame(columns=["replication", "measure", "value"]),
        "no_rows_typed": awkward.iloc[:0],
        "sliced_index": awkward.iloc[3:9:2],      # a RangeIndex with a start and a step
        "labelled": labelled,
        "duplicate_and_int_labels": dup,
        "int_columns": pd.DataFrame(np.arange(6.0).reshape(2, 3)),
        "object_index": pd.DataFrame({"v": [1, 2]}, index=pd.Index(["x", None], dtype=object)),
        "time_index": pd.DataFrame({"v": np.arange(4.0)}, index=pd.date_range("2021-04-01", periods=4, freq="MS",
                                                                               name="month")),
        "timedelta_index": pd.DataFrame({"v": [1, 2]}, index=pd.to_timedelta([1, 3], unit="D")),
        "categorical_index": pd.DataFrame({"v": [1, 2, 3]}, index=pd.CategoricalIndex(["b", "a", "b"])),
        "mixed_objects": pd.DataFrame({"o": [1, "a", None, 2.5, True, np.int64(3), pd.NA, float("nan")]}),
    }


def _same(a, b) -> None:
    """Exactly the same value, types included (NaN equals NaN)."""
    assert type(a) is type(b), (a, b)
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, check_exact=True, check_dtype=True, check_index_type=True,
                                      check_column_type=True, check_frame_type=True, check_names=True,
                                      check_flags=True, check_freq=True, check_categorical=True,
                                      obj="frame")
        assert list(a.columns) == list(b.columns) and a.attrs == b.attrs
        for i in range(a.shape[1]):       # None and NaN kept apart in object columns
            if a.iloc[:, i].dtype == object:
                assert [type(x) for x in a.iloc[:, i]] == [type(x) for x in b.iloc[:, i]]
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            _same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y)
    elif isinstance(a, (float, np.floating)) and math.isnan(a):
        assert math.isnan(b)
    else:
        assert a == b
        if isinstance(a, float):
            assert math.copysign(1, a) == math.copysign(1, b)


@pytest.fixture
def warnings_():
    return []


@pytest.fixture
def cache(tmp_path, warnings_):
    return Cache(tmp_path / ".cache", warn=warnings_.append)


# ------------------------------------------------------------------------------------ round trips
def test_a_replication_round_trips_exactly(cache, warnings_):
    value = _replication_like()
    cache.put(KEY_A, value)
    assert cache.path(KEY_A).name == f"{KEY_A}.npz"
    back = cache.get(KEY_A)
    _same(value, back)
    assert back is not value and back["summary"] is not value["summary"]
    assert warnings_ == []


@pytest.mark.parametrize("name", sorted(_frames()))
def test_frames_round_trip_exactly(cache, name):
    frame = _frames()[name]
    cache.put(KEY_A, {"frame": frame})
    back = cache.get(KEY_A)["frame"]
    _same(frame, back)
    assert [str(t) for t in back.dtypes] == [str(t) for t in frame.dtypes]


def test_the_awkward_frame_keeps_none_nan_and_na_apart(cache):
    frame = _awkward_frame()
    cache.put(KEY_A, frame)
    back = cache.get(KEY_A)
    assert back["obj"][1] is None and isinstance(back["obj"][2], float) and math.isnan(back["obj"][2])
    assert back["string_na"][1] is pd.NA and isinstance(back["str"][1], float)
    assert back["obj"][5] == "trailing\x00" and back["obj"][10] == "\ud800"
    assert back["cat"].cat.categories.tolist() == ["cin", "cp", "care", "unused"] and back["cat_ord"].cat.ordered
    back.loc[0, "f64"] = 99.0          # a frame read back is an ordinary, writable frame
    assert back.loc[0, "f64"] == 99.0


def test_plain_values_round_trip_exactly(cache):
    value = {"sim_events": 34912, "wall_seconds": 0.17610186400003158, "big": 2**100, "neg": -7,
             "nan": float("nan"), "inf": float("inf"), "-inf": float("-inf"), "-0": -0.0,
             "flag": True, "off": False, "none": None, "text": "£ a week 😀", "empty": "",
             "list": [1, 2.5, "x", None, [True, {"nested": (1, "two")}]], "tuple": (1, (2, 3)),
             3: "an int key", (1, "a"): "a tuple key", None: "a None key",
             "numpy": [np.int64(5), np.float64(0.25), np.bool_(True), np.float32(1.5), np.uint8(255)],
             "frame": _summary_like(0, 1)}
    cache.put(KEY_A, value)
    _same(value, cache.get(KEY_A))
    for plain in (None, 0, 1.5, "s", [], {}, ()):
        cache.put(KEY_B, plain)
        _same(plain, cache.get(KEY_B))


def test_a_value_the_format_cannot_hold_is_refused_when_written(cache):
    for bad in ({"x": {1, 2}}, {"s": pd.Series([1, 2])}, object(), {"x": np.array([1, 2])},
                pd.DataFrame({"o": [1, b"bytes"]}), pd.DataFrame({"o": [{"a": 1}]}),
                pd.DataFrame({"v": [1]}, index=pd.MultiIndex.from_tuples([(1, 2)])),
                pd.DataFrame({"t": pd.date_range("2021", periods=2, tz="UTC")})):
        with pytest.raises(TypeError):
            cache.put(KEY_A, bad)
    assert list(cache.folder.iterdir()) == []


def test_no_cache_does_nothing(tmp_path):
    c = Cache(None)
    c.put(KEY_A, _replication_like())
    assert c.get(KEY_A) is None and c.path(KEY_A) is None
    assert list(tmp_path.iterdir()) == []


def test_a_missing_entry_is_none_without_a_warning(cache, warnings_):
    assert cache.get(KEY_A) is None and warnings_ == []


def test_an_odd_key_gets_a_safe_file_name(cache):
    key = "../../etc/passwd " + "x" * 300
    cache.put(key, {"v": 1})
    p = cache.path(key)
    assert p.parent == cache.folder and p.name.startswith("k-") and len(p.name) < 80
    assert cache.get(key) == {"v": 1} and cache.get(key[:-1]) is None


def test_writes_are_atomic_and_respect_the_umask(cache):
    old = os.umask(0o027)
    try:
        cache.put(KEY_A, _replication_like())
        mode_027 = cache.path(KEY_A).stat().st_mode & 0o777
        os.umask(0o002)
        cache.put(KEY_B, _replication_like(4))
        mode_002 = cache.path(KEY_B).stat().st_mode & 0o777
    finally:
        os.umask(old)
    assert (mode_027, mode_002) == (0o640, 0o664)
    assert sorted(p.name for p in cache.folder.iterdir()) == sorted([f"{KEY_A}.npz", f"{KEY_B}.npz"])


def test_an_interrupted_write_leaves_the_old_entry_and_no_temporary_file(cache, monkeypatch):
    cache.put(KEY_A, {"v": 1})

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(cache_mod.os, "replace", boom)
    with pytest.raises(KeyboardInterrupt):
        cache.put(KEY_A, {"v": 2})
    monkeypatch.undo()
    assert cache.get(KEY_A) == {"v": 1}
    assert [p.name for p in cache.folder.iterdir()] == [f"{KEY_A}.npz"]


def test_an_entry_is_a_plain_npz_readable_without_pickle(cache):
    cache.put(KEY_A, _replication_like())
    with np.load(cache.path(KEY_A), allow_pickle=False) as z:
        meta = json.loads(z["meta"].tobytes())
        assert meta["key"] == KEY_A and meta["format"] == "carepath-cache"
        assert all(z[n].dtype != object for n in z.files)


# ------------------------------------------------------------------------------- forged entries
class _Touch:
    """Unpickling this creates the marker file (open(marker, 'w'))."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _payload_works(tmp_path) -> None:
    """The forged payload really would run code if unpickled (so the tests below can fail)."""
    probe = tmp_path / "probe-marker"
    pickle.loads(pickle.dumps(_Touch(probe))).close()
    assert probe.exists()
    probe.unlink()


def test_a_pickle_posing_as_an_entry_is_never_unpickled(cache, warnings_, tmp_path):
    marker = tmp_path / "pwned"
    payload = pickle.dumps(_Touch(marker))
    _payload_works(tmp_path)
    cache.path(KEY_A).write_bytes(payload)
    assert cache.get(KEY_A) is None
    assert not marker.exists()
    assert len(warnings_) == 1 and str(cache.path(KEY_A)) in warnings_[0] and "recomputing" in warnings_[0]


def test_an_npz_holding_object_arrays_is_never_unpickled(cache, warnings_, tmp_path):
    marker = tmp_path / "pwned"
    _payload_works(tmp_path)
    evil = np.empty(1, dtype=object)
    evil[0] = _Touch(marker)
    good = encode_entry(KEY_A, {"v": _summary_like(0, 5)})
    # the member names of a real entry, with each in turn replaced by a pickled object array
    for victim in ("meta.npy", "digest.npy", "a0.npy"):
        buf = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(good)) as src, zipfile.ZipFile(buf, "w") as dst:
            for info in src.infolist():
                if info.filename == victim:
                    with dst.open(info.filename, "w") as f:
                        np.lib.format.write_array(f, evil, allow_pickle=True)
                else:
                    dst.writestr(info.filename, src.read(info.filename))
        cache.path(KEY_A).write_bytes(buf.getvalue())
        assert cache.get(KEY_A) is None
    np.savez(cache.path(KEY_A).with_suffix(""), meta=evil, digest=evil)    # np.savez adds .npz
    assert cache.get(KEY_A) is None
    assert not marker.exists()
    assert len(warnings_) == 4


def _repack(entry: bytes, edit) -> bytes:
    """Rewrite an entry's members through `edit(dict name -> array)`, then give it a valid checksum."""
    with zipfile.ZipFile(io.BytesIO(entry)) as z:
        arrays = {i.filename[:-4]: np.lib.format.read_array(z.open(i.filename)) for i in z.infolist()}
    edit(arrays)
    n = len([k for k in arrays if k.startswith("a")])
    arrays["digest"] = np.frombuffer(cache_mod._digest(arrays["meta"].tobytes(), [arrays[f"a{i}"] for i in range(n)]),
                                     dtype=np.uint8)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, arr in arrays.items():
            with z.open(f"{name}.npy", "w") as f:
                np.lib.format.write_array(f, arr, allow_pickle=False)
    return buf.getvalue()


def _edit_meta(fn):
    def edit(arrays):
        meta = json.loads(arrays["meta"].tobytes())
        fn(meta, arrays)
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    return edit


@pytest.mark.parametrize("forgery", ["unknown_kind", "extra_member", "unused_array", "codes_out_of_range",
                                     "bad_tag", "structured_array", "wrong_version", "short_column", "nan_const"])
def test_a_well_checksummed_but_unexpected_entry_is_refused(cache, warnings_, forgery):
    good = encode_entry(KEY_A, {"summary": _summary_like(0, 2), "n": 1})
    assert decode_entry(_repack(good, lambda a: None), KEY_A)["n"] == 1    # the repacking itself is sound

    def set_kind(meta, arrays):
        meta["value"]["dict"][0][1]["frame"]["data"][0]["kind"] = "pickle"

    def extra(arrays):
        arrays["extra"] = np.zeros(1)

    def unused(meta, arrays):
        n = len(meta["arrays"])
        arrays[f"a{n}"] = np.zeros(3)
        meta["arrays"].append([f"a{n}", "<f8", [3]])

    def codes(meta, arrays):
        spec = meta["value"]["dict"][0][1]["frame"]["data"][1]
        arrays[spec["codes"]] = arrays[spec["codes"]] + np.int32(1000)

    def tag(meta, arrays):
        meta["value"]["dict"][1][1] = {"eval": "__import__('os')"}

    def structured(meta, arrays):
        arrays["a0"] = np.zeros(3, dtype=[("x", "<i8")])
        meta["arrays"][0] = ["a0", arrays["a0"].dtype.str, [3]]

    def version(meta, arrays):
        meta["version"] = 99

    def short(meta, arrays):
        spec = meta["value"]["dict"][0][1]["frame"]["data"][3]
        arrays[spec["values"]] = arrays[spec["values"]][:-1]
        meta["arrays"][int(spec["values"][1:])][2] = [len(arrays[spec["values"]])]

    def nan_const(arrays):
        text = arrays["meta"].tobytes().decode()
        assert '"n",1]' in text
        arrays["meta"] = np.frombuffer(text.replace('"n",1]', '"n",NaN]').encode(), dtype=np.uint8)

    edits = {"unknown_kind": _edit_meta(set_kind), "extra_member": extra, "unused_array": _edit_meta(unused),
             "codes_out_of_range": _edit_meta(codes), "bad_tag": _edit_meta(tag),
             "structured_array": _edit_meta(structured), "wrong_version": _edit_meta(version),
             "short_column": _edit_meta(short), "nan_const": nan_const}
    cache.path(KEY_A).write_bytes(_repack(good, edits[forgery]))
    assert cache.get(KEY_A) is None
    assert len(warnings_) == 1 and str(cache.path(KEY_A)) in warnings_[0]


def test_old_pickle_files_are_never_opened_and_mentioned_once(tmp_path, monkeypatch):
    folder = tmp_path / ".cache"
    folder.mkdir()
    marker = tmp_path / "pwned"
    (folder / f"{KEY_A}.pkl").write_bytes(pickle.dumps(_Touch(marker)))
    (folder / f"{KEY_B}.pkl").write_bytes(pickle.dumps({"v": 1}))
    monkeypatch.setattr(cache_mod, "_pkl_mentioned", set())
    seen = []
    c = Cache(folder, warn=seen.append)
    Cache(folder, warn=seen.append)
    assert c.get(KEY_A) is None and c.get(KEY_B) is None
    assert not marker.exists()
    assert len(seen) == 1 and "2 cache files" in seen[0] and "*.pkl" in seen[0] and "never opened" in seen[0]


# ------------------------------------------------------------------------------- swapped entries
def test_an_entry_copied_over_another_keys_file_is_refused(cache, warnings_):
    a, b = _replication_like(3), _replication_like(4)
    cache.put(KEY_A, a)
    cache.put(KEY_B, b)
    shutil.copyfile(cache.path(KEY_A), cache.path(KEY_B))
    assert cache.get(KEY_B) is None
    assert len(warnings_) == 1 and str(cache.path(KEY_B)) in warnings_[0] and "another key" in warnings_[0]
    _same(a, cache.get(KEY_A))
    cache.put(KEY_B, b)                 # the caller recomputes and stores it again
    _same(b, cache.get(KEY_B))


def test_an_entry_with_its_key_rewritten_is_refused(cache, warnings_):
    """Changing the key inside the JSON document (to make a copy pass) breaks the checksum."""
    cache.put(KEY_A, {"v": 1})
    raw = cache.path(KEY_A).read_bytes()
    with zipfile.ZipFile(io.BytesIO(raw)) as z:
        arrays = {i.filename: np.lib.format.read_array(z.open(i.filename)) for i in z.infolist()}
    arrays["meta.npy"] = np.frombuffer(arrays["meta.npy"].tobytes().replace(KEY_A.encode(), KEY_B.encode()),
                                       dtype=np.uint8)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, arr in arrays.items():
            with z.open(name, "w") as f:
                np.lib.format.write_array(f, arr)
    cache.path(KEY_B).write_bytes(buf.getvalue())
    assert cache.get(KEY_B) is None and "checksum" in warnings_[0]


# ------------------------------------------------------------------------------------ damage
def test_single_bit_flips_are_refused_or_harmless(cache, warnings_):
    value = _replication_like()
    cache.put(KEY_A, value)
    p = cache.path(KEY_A)
    good = p.read_bytes()
    rng = np.random.default_rng(20261204)
    bits = rng.choice(len(good) * 8, size=400, replace=False)
    refused = harmless = 0
    for bit in bits:
        damaged = bytearray(good)
        damaged[bit // 8] ^= 1 << (bit % 8)
        p.write_bytes(bytes(damaged))
        n_warn = len(warnings_)
        back = cache.get(KEY_A)            # never raises
        if back is None:
            refused += 1
            assert len(warnings_) == n_warn + 1 and str(p) in warnings_[-1]
        else:
            harmless += 1
            _same(value, back)             # never altered numbers
            assert len(warnings_) == n_warn
    assert refused + harmless == 400 and refused > 300, (refused, harmless)
    assert not any("Traceback" in w for w in warnings_)


def test_bit_flips_inside_the_members_are_caught_by_the_checksum(cache, warnings_):
    """Flips in the unpacked arrays and JSON document, repacked into a sound zip (so the zip's own CRC
    cannot catch them): only the entry's sha256 stands between them and altered numbers."""
    value = _replication_like()
    good = encode_entry(KEY_A, value)
    with zipfile.ZipFile(io.BytesIO(good)) as z:
        members = {i.filename: z.read(i.filename) for i in z.infolist()}
    names = sorted(members)
    sizes = np.array([len(members[n]) for n in names])
    rng = np.random.default_rng(16)
    bits = rng.choice(sizes.sum() * 8, size=300, replace=False)
    p = cache.path(KEY_A)
    refused = 0
    for bit in bits:
        byte = int(bit // 8)
        which = int(np.searchsorted(np.cumsum(sizes), byte, side="right"))
        offset = byte - int(sizes[:which].sum())
        damaged = bytearray(members[names[which]])
        damaged[offset] ^= 1 << int(bit % 8)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
            for n in names:
                z.writestr(n, bytes(damaged) if n == names[which] else members[n])
        p.write_bytes(buf.getvalue())
        back = cache.get(KEY_A)
        if back is None:
            refused += 1
        else:
            _same(value, back)
    assert refused == len(warnings_)
    assert refused >= 295, refused          # a flip in an npy header's padding may be harmless
    assert sum("checksum" in w for w in warnings_) >= 250


@pytest.mark.parametrize("keep", [0, 1, 4, 22, 100, 0.5, -22, -1])
def test_truncated_and_empty_files_are_refused(cache, warnings_, keep):
    cache.put(KEY_A, _replication_like())
    p = cache.path(KEY_A)
    good = p.read_bytes()
    n = int(len(good) * keep) if isinstance(keep, float) else (keep if keep >= 0 else len(good) + keep)
    p.write_bytes(good[:n])
    assert cache.get(KEY_A) is None
    assert len(warnings_) == 1 and str(p) in warnings_[0] and "recomputing" in warnings_[0]


def test_garbage_a_directory_and_an_unreadable_file_are_refused(cache, warnings_):
    p = cache.path(KEY_A)
    p.write_bytes(np.random.default_rng(3).bytes(5000))
    assert cache.get(KEY_A) is None
    p.write_bytes(b"PK\x05\x06" + b"\x00" * 18)     # an empty zip
    assert cache.get(KEY_A) is None
    p.unlink()
    p.mkdir()
    assert cache.get(KEY_A) is None
    assert len(warnings_) == 3


def test_the_warning_is_one_plain_line_on_stderr(tmp_path, capsys):
    c = Cache(tmp_path / ".cache")
    c.put(KEY_A, {"v": 1})
    c.path(KEY_A).write_bytes(b"not an archive")
    assert c.get(KEY_A) is None
    err = capsys.readouterr().err
    assert err == (f"carepath: ignoring a damaged cache entry {c.path(KEY_A)} "
                   f"(it is not a readable archive: BadZipFile: File is not a zip file); recomputing it\n")


def test_decode_entry_raises_only_its_own_error():
    entry = encode_entry(KEY_A, {"v": 1})
    assert decode_entry(entry, KEY_A) == {"v": 1}
    for bad in (b"", entry[:-5], entry[5:], entry[:100] + entry[101:]):
        with pytest.raises(CacheEntryError):
            decode_entry(bad, KEY_A)
    with pytest.raises(CacheEntryError, match="another key"):
        decode_entry(entry, KEY_B)
