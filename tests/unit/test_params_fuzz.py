"""Property-based fuzzing of the parameter schema: any value at any place, a key removed or an
unknown one added, is either a valid parameter set or refused with one plain line (ParamsError),
never another exception."""
from __future__ import annotations

import copy

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.params import Params, ParamsError, params_from_dict

VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-10**15, 10**15),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
    st.lists(st.one_of(st.integers(-5, 5), st.floats(-2, 2)), max_size=4),
    st.dictionaries(st.text(max_size=6), st.one_of(st.integers(-3, 3), st.floats(-2, 2)), max_size=3),
)


def _paths(d, prefix=()):
    if isinstance(d, dict):
        for k, v in d.items():
            yield prefix + (k,)
            yield from _paths(v, prefix + (k,))
    elif isinstance(d, list):
        for i, v in enumerate(d):
            yield prefix + (i,)
            yield from _paths(v, prefix + (i,))


def _check(d):
    try:
        p = params_from_dict(d)
    except ParamsError as exc:
        msg = str(exc)
        assert msg and "\n" not in msg, msg
        return
    assert isinstance(p, Params)


SETTINGS = settings(max_examples=150, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@SETTINGS
@given(data=st.data())
def test_any_value_anywhere_is_valid_or_one_plain_line(_baseline_dict_master, data):
    d = copy.deepcopy(_baseline_dict_master)
    paths = list(_paths(d))
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(paths))
        node = d
        try:
            for k in path[:-1]:
                node = node[k]
            node[path[-1]] = data.draw(VALUES)
        except (KeyError, IndexError, TypeError):
            continue   # an earlier change replaced a parent
    _check(d)


@SETTINGS
@given(data=st.data())
def test_a_key_removed_or_an_unknown_one_added_is_valid_or_one_plain_line(_baseline_dict_master, data):
    d = copy.deepcopy(_baseline_dict_master)
    dict_paths = [p for p in _paths(d) if isinstance(_get(d, p), dict)] + [()]
    path = data.draw(st.sampled_from(dict_paths))
    node = _get(d, path)
    if data.draw(st.booleans()) and node:
        del node[data.draw(st.sampled_from(sorted(node, key=str)))]
    else:
        node[data.draw(st.text(min_size=1, max_size=8))] = data.draw(VALUES)
    _check(d)


def _get(d, path):
    for k in path:
        d = d[k]
    return d
