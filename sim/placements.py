"""Placement types as one table: what each is, the group and need it belongs to, its labels, the
capacity it takes, where it comes in the search for a placement, the SSDA903 codes it is read from
and the cost it is priced at.

`sim.vocab`'s PLACEMENT_TYPES, PLACEMENT_GROUP and PLACEMENT_NEEDS are derived from this table;
the model (bed pools and the search order), measures, costs, calibration and reports read it. A new
placement type is a row here (and its capacity and weekly cost in the parameters if it has them);
`tests/unit/test_catalogues.py` checks that everything that must know it does.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class Group:
    """A published placement group, which is also a placement need: what the search is asked for."""

    name: str
    label: str     # for charts and reports


@dataclass(frozen=True)
class PlacementType:
    name: str                 # the model's name (outputs and snapshots use it: keep it stable)
    group: str                # its Group, and the need it meets
    label: str                # short label, for charts and tables
    pool: Optional[str]       # the capacity it takes: "carers" (the in-house foster carer pool),
                              # "beds" (a bed pool of its own name) or None (always available)
    capacity: Optional[str]   # for "beds": the `capacity` parameter holding the pool's size
    pool_rank: Optional[int]  # for "beds": the order the pools are built in (their day-0 capacity
                              # rows come in this order)
    fallback: int             # its place in its need's search: 0 first, then 1, ... (first fit)
    place: tuple[str, ...]    # SSDA903 PLACE codes read as this type...
    provider: str             # ...with PLACE_PROVIDER: "any", "inhouse" (PR1-PR3), "external" (PR4, PR5)
    cost_key: Optional[str]   # key of costs.placement_weekly (the type's name); None: priced by the £4,100 line
                              # (costs.residential_spot_over_4100_weekly and _under_4100_weekly)
    family_based: bool        # counted in family_based_share
    share_group: Optional[str]  # calibration's placement_share_<group> (None: not reported)
    backcast_group: str       # calibration report's back-cast series care_<group>
    mix: str                  # band of the business case report's placement mix chart


GROUPS: tuple[Group, ...] = (
    Group("kinship", "Kinship carers"),
    Group("foster", "Foster carers (in-house and agency)"),
    Group("residential", "Children's homes"),
    Group("semi_independent", "Semi-independent (16-17)"),
    Group("with_parents", "Placed with parents"),
    Group("other", "Other (adoption, temporary...)"),
)

# SSDA903 PLACE_PROVIDER codes: in-house (own council, other council, other public body) and external.
INHOUSE_PROVIDERS = ("PR1", "PR2", "PR3")
EXTERNAL_PROVIDERS = ("PR4", "PR5")

_OTHER_PLACE = ("A3", "A4", "A5", "A6", "T0", "T1", "T2", "T3", "T4", "K1", "Z1",
                # valid DfE codes outside DOMAIN.md's list: residential employment, NHS/health trust,
                # family centre / mother and baby unit, young offender institution, residential schools
                "P3", "R2", "R3", "R5", "S1")

PLACEMENTS: tuple[PlacementType, ...] = (
    PlacementType("kinship", "kinship", "Kinship", None, None, None, 0,
                  ("U1", "U2", "U3"), "any", "kinship", True, "kinship", "kinship", "Kinship carers"),
    PlacementType("foster_inhouse", "foster", "In-house foster", "carers", None, None, 0,
                  ("U4", "U5", "U6"), "inhouse", "foster_inhouse", True, "foster_inhouse", "foster",
                  "In-house foster carers"),
    PlacementType("foster_ifa", "foster", "Agency foster (IFA)", "beds", "foster_ifa_places", 5, 1,
                  ("U4", "U5", "U6"), "external", "foster_ifa", True, "foster_ifa", "foster",
                  "Agency foster carers (IFA)"),
    PlacementType("residential_inhouse", "residential", "In-house homes", "beds", "residential_inhouse_beds", 0, 0,
                  ("K2", "R1"), "inhouse", "residential_inhouse", False, "residential", "residential",
                  "In-house children's homes"),
    # block and spot contracts cannot be told apart in SSDA903: every external home is read as spot
    PlacementType("residential_block", "residential", "Block homes", "beds", "residential_block_beds", 1, 1,
                  (), "external", "residential_block", False, "residential", "residential",
                  "Block children's homes"),
    PlacementType("residential_spot", "residential", "Spot homes", "beds", "residential_spot_places", 2, 2,
                  ("K2", "R1"), "external", None, False, "residential", "residential",
                  "Spot children's homes"),
    PlacementType("semi_independent_block", "semi_independent", "Semi-independent (block)", "beds",
                  "semi_independent_block_places", 3, 0,
                  (), "any", "semi_independent_block", False, "semi_independent", "semi_independent",
                  "Semi-independent (16-17)"),
    PlacementType("semi_independent_spot", "semi_independent", "Semi-independent (spot)", "beds",
                  "semi_independent_spot_places", 4, 1,
                  ("H5", "K3", "P2"), "any", "semi_independent_spot", False, "semi_independent", "semi_independent",
                  "Semi-independent (16-17)"),
    PlacementType("with_parents", "with_parents", "With parents", None, None, None, 0,
                  ("P1",), "any", "with_parents", False, None, "other", "Placed with parents"),
    PlacementType("other", "other", "Other", None, None, None, 0,
                  _OTHER_PLACE, "any", "other", False, None, "other", "Other or awaiting a placement"),
)

# Not a placement type, but a series beside them: a child in care whose need has no free place,
# who waits in an emergency or unregistered placement (priced at costs.awaiting_placement_weekly)
# until a registered one is free. Kept as one series, not a type of its own: it takes no capacity
# and is never searched for, and a child in it is still seeking the placement their need names.
AWAITING = "awaiting"
AWAITING_LABEL = "Emergency or unregistered (waiting)"
AWAITING_MIX = "Other or awaiting a placement"   # the mix chart's band for it

BY_NAME: dict[str, PlacementType] = {p.name: p for p in PLACEMENTS}
GROUP_LABELS: dict[str, str] = {g.name: g.label for g in GROUPS}
# Labels of the placement series of the monthly stocks (`care_<name>`): each type, and awaiting.
PLACEMENT_LABELS: dict[str, str] = {**{p.name: p.label for p in PLACEMENTS}, AWAITING: AWAITING_LABEL}


def of_group(group: str) -> tuple[PlacementType, ...]:
    """The types of a group (a need), in search order."""
    return tuple(sorted((p for p in PLACEMENTS if p.group == group), key=lambda p: p.fallback))


# The search for a need with capacity: its types in order, first fit (see `Pathway._search`).
SEARCH_ORDER: dict[str, tuple[str, ...]] = {g.name: tuple(p.name for p in of_group(g.name)) for g in GROUPS}
# Needs met at once, with no capacity: the placement is the need's one type, of the same name.
ALWAYS_AVAILABLE: tuple[str, ...] = tuple(
    g.name for g in GROUPS if all(p.pool is None for p in of_group(g.name)))
# A need's last resort, its last type in search order (a child awaiting a placement is written
# into a snapshot as placed there).
LAST_RESORT: dict[str, str] = {g: order[-1] for g, order in SEARCH_ORDER.items() if g not in ALWAYS_AVAILABLE}
# Bed pools in the order they are built, with the capacity parameter giving each one's size.
BED_POOLS: tuple[tuple[str, str], ...] = tuple(
    (p.name, p.capacity) for p in sorted((p for p in PLACEMENTS if p.pool == "beds"), key=lambda p: p.pool_rank))
# The types priced by the £4,100 line rather than from costs.placement_weekly.
SPLIT_COST: tuple[str, ...] = tuple(p.name for p in PLACEMENTS if p.cost_key is None)
FAMILY_BASED: tuple[str, ...] = tuple(p.name for p in PLACEMENTS if p.family_based)


def groups_of(field: str) -> dict[str, tuple[str, ...]]:
    """{group: its placement types} for a grouping field of the table (`share_group`,
    `backcast_group`, `mix`), groups in order of first appearance; types without one left out."""
    out: dict[str, list[str]] = {}
    for p in PLACEMENTS:
        g = getattr(p, field)
        if g is not None:
            out.setdefault(g, []).append(p.name)
    return {g: tuple(v) for g, v in out.items()}


def ssda903_by_place() -> dict[str, str]:
    """PLACE codes whose type does not depend on PLACE_PROVIDER: {PLACE: type}."""
    return {c: p.name for p in PLACEMENTS if p.provider == "any" for c in p.place}


def ssda903_by_provider() -> dict[str, tuple[str, str]]:
    """PLACE codes whose type depends on PLACE_PROVIDER: {PLACE: (in-house type, external type)}."""
    inhouse = {c: p.name for p in PLACEMENTS if p.provider == "inhouse" for c in p.place}
    external = {c: p.name for p in PLACEMENTS if p.provider == "external" for c in p.place}
    assert set(inhouse) == set(external), "a provider-dependent PLACE code needs an in-house and an external type"
    return {c: (inhouse[c], external[c]) for c in inhouse}


def _check() -> None:
    names = [p.name for p in PLACEMENTS]
    assert len(set(names)) == len(names) and AWAITING not in names
    groups = {g.name for g in GROUPS}
    for p in PLACEMENTS:
        assert p.group in groups and p.label and p.mix and p.backcast_group, p.name
        assert p.pool in (None, "carers", "beds"), p.name
        assert (p.pool == "beds") == (p.capacity is not None) == (p.pool_rank is not None), p.name
        assert p.provider in ("any", "inhouse", "external"), p.name
        assert p.cost_key in (None, p.name), p.name  # costs are keyed by the type's name
    for g in groups:
        fallbacks = [p.fallback for p in of_group(g)]
        assert fallbacks == list(range(len(fallbacks))), g
    for g in ALWAYS_AVAILABLE:
        assert SEARCH_ORDER[g] == (g,), g  # an uncapacitated need's placement carries its name
    ranks = [p.pool_rank for p in PLACEMENTS if p.pool == "beds"]
    assert sorted(ranks) == list(range(len(ranks)))
    codes = [c for p in PLACEMENTS if p.provider == "any" for c in p.place]
    assert len(set(codes)) == len(codes)
    ssda903_by_provider()


_check()
