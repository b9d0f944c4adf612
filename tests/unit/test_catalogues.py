"""The two catalogues: levers (sim/levers.py) and placement types (sim/placements.py).

Adding a lever should touch its entry in the lever catalogue, the one place in the model where it
acts and its tests; adding a placement type, its row in the placement table (and its capacity and
cost in the parameters). These tests check that every entry carries what the rest of carepath
reads from it, and that nothing restates the catalogues.
"""
from __future__ import annotations

import datetime as dt
import math
import re

import pytest

import sim.levers as levers
from sim import placements
from sim.levers import ACTS, CATALOGUE, INF, KINDS, LEVERS, TERMS, Lever, LeverError, Mechanisms, build_mechanisms
from sim.placements import GROUPS, PLACEMENTS
from sim.vocab import PLACEMENT_GROUP, PLACEMENT_NEEDS, PLACEMENT_TYPES

START = dt.date(2021, 10, 1)


@pytest.fixture(scope="module")
def one_year(with_years, _baseline_dict_master):
    """Measure names of a one-year cold-start replication: summary_by_fy's and stocks_by_month's."""
    import copy

    from sim.measures import stocks_by_month, summary_by_fy
    from sim.params import params_from_dict
    from sim.runner import run_replication

    d = copy.deepcopy(with_years(_baseline_dict_master, 1))
    d["initial_caseload"] = None
    p = params_from_dict(d)
    r = run_replication(p, 7, 0)
    return p, set(summary_by_fy(r)["measure"]), set(stocks_by_month(r)["measure"])


def _value(key) -> float:
    """A value inside the key's bounds, not zero (a yearly price growth is a fraction: under 1)."""
    if key.act == "price_growth":
        return 0.05
    return 0.5 if key.hi == 1.0 else 3.0


# ------------------------------------------------------------------------------------ levers
@pytest.mark.parametrize("name", list(CATALOGUE))
def test_every_lever_declares_a_label_and_keys_with_units_and_bounds(name):
    spec = CATALOGUE[name]
    assert spec.name == name and spec.label and spec.label[0].isupper()
    assert spec.keys, "a lever needs a mechanism key"
    for k in spec.keys:
        assert k.kind in KINDS and k.act in ACTS and k.unit and k.description
        assert k.lo <= k.hi
        if k.kind == "fraction":
            assert (k.lo, k.hi) == (0.0, 1.0)
        if k.act in ("term", "beds", "workers"):
            assert k.sets
        if k.act == "term":
            assert k.sets in TERMS
    names = [k.name for k in spec.keys]
    assert len(set(names)) == len(names)
    # the derived view older code reads
    assert LEVERS[name] == {"mechanism": {k.name: k.description for k in spec.keys},
                            "target": {t.name: t.description for t in spec.targets}}


@pytest.mark.parametrize("name", [n for n, s in CATALOGUE.items() if s.targets])
def test_every_target_has_a_first_guess_in_bounds_and_measures_the_model_reports(name, one_year):
    _, measures, _ = one_year
    spec = CATALOGUE[name]
    key = spec.search_key
    assert key.lo <= spec.first_guess <= key.hi and spec.first_guess > 0
    for t in spec.targets:
        assert t.sign in (-1, 1) and t.judged in ("mean", "gain_per_year") and t.description
        missing = [m for m in t.measures if m not in measures]
        assert not missing, f"{name}.{t.name} is judged on measures summary_by_fy does not give: {missing}"


def test_every_report_volume_is_a_measure_of_the_business_case(one_year):
    _, measures, _ = one_year
    derived = {"repeat_plans", "placement_moves_per_child_year", "children_kept_out_of_care"}  # with_derived
    for name, spec in CATALOGUE.items():
        if spec.volume is not None:
            assert spec.volume.measure in measures | derived, name
            assert spec.volume.sign in (-1, 1) and spec.volume.words


@pytest.mark.parametrize("name", list(CATALOGUE))
def test_build_mechanisms_sets_exactly_the_declared_terms(name, params_2y):
    spec = CATALOGUE[name]
    lv = Lever(lever=name, start=START, ramp_months=3, end=dt.date(2022, 10, 1),
               mechanism={k.name: _value(k) for k in spec.keys},
               placement_type="foster_ifa" if spec.placement_type else None)
    m = build_mechanisms([lv], params_2y)
    declared = {k.sets for k in spec.keys if k.act == "term"}
    assert m.set_terms() == declared
    for term in declared:
        assert m.bound(term) == sum(_value(k) for k in spec.keys if k.sets == term)
        assert m.start(term) == float((START - params_2y.horizon.start_date).days)
    acts = {k.act for k in spec.keys}
    assert bool(m.bed_changes) == ("beds" in acts)
    assert bool(m.team_changes) == ("workers" in acts)
    assert bool(m.cost_changes) == ("unit_cost" in acts)
    assert bool(m.price_growth) == ("price_growth" in acts)
    for key in spec.keys:
        if key.act == "beds":
            assert {pool for _, pool, _ in m.bed_changes} == {key.sets}
            assert key.sets in dict(placements.BED_POOLS)
        if key.act == "workers":
            assert {team for _, team, _ in m.team_changes} == {key.sets}
            assert key.sets in dict(params_2y.capacity.teams)


@pytest.mark.parametrize("name", list(CATALOGUE))
def test_a_value_outside_a_keys_bounds_is_refused_and_scaling_keeps_within_them(name):
    spec = CATALOGUE[name]
    for k in spec.keys:
        for bad in (k.lo - 1.0, k.hi + 1.0):
            if math.isfinite(bad):
                with pytest.raises(ValueError, match=k.name):
                    Lever(lever=name, start=START, mechanism={k.name: bad})
        lv = Lever(lever=name, start=START, mechanism={k.name: _value(k)})
        x = lv.scaled(10.0).mechanism[k.name]
        assert k.lo <= x <= k.hi
        assert x == (min(_value(k) * 10.0, k.hi) if k.scales else _value(k))


def test_every_term_is_read_by_the_pathway_under_its_constant():
    """The pathway reads each term by the constant sim/levers.py declares (a typo fails at import),
    and every declared term is read somewhere: a lever acts in exactly one place in the model."""
    from pathlib import Path

    src = (Path(levers.__file__).parent / "pathway.py").read_text()
    constants = {v: k for k, v in vars(levers).items() if k.isupper() and isinstance(v, str) and v in TERMS}
    assert set(constants) == set(TERMS)
    for term, const in constants.items():
        assert re.search(rf"\bm\.term\({const}\)", src), f"the pathway never looks up {const}"
    assert not re.search(r"mech\.(value|bound|active|start)\(\s*[\"']", src), "a term read by a string literal"


def test_an_unknown_term_raises_and_every_known_one_starts_at_zero():
    m = Mechanisms()
    for t in TERMS:
        assert m.value(t, 100.0) == 0.0 and not m.active(t) and m.start(t) == INF
    with pytest.raises(LeverError, match="unknown model term"):
        m.value("reunification_rates", 1.0)


@pytest.fixture(scope="module")
def params_2y(with_years, build, _baseline_dict_master):
    return build(with_years(_baseline_dict_master, 2))


def test_the_reports_read_labels_volumes_and_first_guesses_from_the_catalogue():
    from experiments import business_case, report
    from experiments.run import TargetSearch

    assert business_case.LEVER_VOLUME == {n: (s.volume.measure, s.volume.sign, s.volume.words)
                                          for n, s in CATALOGUE.items() if s.volume}
    for name, spec in CATALOGUE.items():
        assert report.lever_label(name) == spec.label
    lv = Lever(lever="edge_of_care", start=START, target={"fewer_care_entries_per_year": 20})
    s = TargetSearch(lv, "2022/23")
    assert (s.key, s.x, s.upper) == ("divert_share", CATALOGUE["edge_of_care"].first_guess, 1.0)


# -------------------------------------------------------------------------------- placements
def test_vocab_is_derived_from_the_placement_table():
    assert PLACEMENT_TYPES == tuple(p.name for p in PLACEMENTS)
    assert PLACEMENT_NEEDS == tuple(g.name for g in GROUPS)
    assert PLACEMENT_GROUP == {p.name: p.group for p in PLACEMENTS}


@pytest.mark.parametrize("pt", PLACEMENTS, ids=lambda p: p.name)
def test_every_placement_type_has_a_group_label_capacity_and_cost(pt, baseline_params):
    assert pt.group in {g.name for g in GROUPS} and pt.label and pt.mix and pt.backcast_group
    if pt.pool == "beds":
        assert pt.capacity in type(baseline_params.capacity).model_fields
    if pt.cost_key is not None:
        assert pt.cost_key in baseline_params.costs.placement_weekly
    else:  # priced by the £4,100 line
        assert baseline_params.costs.residential_spot_over_4100_weekly > 4100


def test_every_need_can_be_searched_in_a_declared_order():
    for g in GROUPS:
        order = placements.SEARCH_ORDER[g.name]
        assert order and all(PLACEMENT_GROUP[t] == g.name for t in order)
    assert set(placements.ALWAYS_AVAILABLE) | {"foster", "residential", "semi_independent"} == set(PLACEMENT_NEEDS)


def test_the_ssda903_codes_calibration_reads_are_the_tables():
    from calibration import ssda903

    assert ssda903.PLACEMENT_TYPE_BY_PLACE == placements.ssda903_by_place()
    assert ssda903.PLACEMENT_TYPE_BY_PROVIDER == placements.ssda903_by_provider()
    assert ssda903.INHOUSE_PROVIDERS == placements.INHOUSE_PROVIDERS
    assert ssda903.EXTERNAL_PROVIDERS == placements.EXTERNAL_PROVIDERS
    coded = {p.name for p in PLACEMENTS if p.place}
    # block contracts cannot be told from spot ones in SSDA903: every other type is read from a code
    assert set(PLACEMENT_TYPES) - coded == {"residential_block", "semi_independent_block"}


def test_every_placement_type_is_measured_and_has_a_bed_pool_if_it_takes_beds(one_year):
    p, summary, stocks = one_year
    for pt in PLACEMENTS:
        assert f"cic_{pt.name}_average" in summary and f"care_{pt.name}" in stocks
    for g in GROUPS:
        assert f"cic_{g.name}_share" in summary
    from sim.pathway import Pathway

    model = Pathway(p, 1, 0)
    assert list(model.beds) == [name for name, _ in placements.BED_POOLS]
    for name, size in placements.BED_POOLS:
        assert model.beds[name].capacity == getattr(p.capacity, size)


def test_calibration_and_reports_group_placements_from_the_table():
    from calibration import fit
    from calibration import report as calibration_report
    from experiments import report

    assert fit.NEED_OF_PLACEMENT == PLACEMENT_GROUP
    assert calibration_report.GROUPS == placements.groups_of("backcast_group")
    bands = [label for label, _, _ in report.MIX_GROUPS]
    assert bands == list(placements.groups_of("mix"))
    assert {t for _, types, _ in report.MIX_GROUPS for t in types} == set(PLACEMENT_TYPES) | {placements.AWAITING}


def test_the_charts_labels_are_the_tables():
    """carepath's charts label placements and groups as the table does (their labels belong there)."""
    charts = pytest.importorskip("carepath.charts")
    if hasattr(charts, "PLACEMENT_LABELS"):
        assert charts.PLACEMENT_LABELS == placements.PLACEMENT_LABELS
    if hasattr(charts, "GROUP_LABELS"):
        assert charts.GROUP_LABELS == {**placements.GROUP_LABELS, placements.AWAITING: placements.AWAITING_LABEL}
