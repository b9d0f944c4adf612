"""A back-of-envelope check of each lever's saving: the change the lever makes to a stock of
children (children in care, children on plans, children with in-house rather than agency
carers) times a unit cost a year, the way a council's business case is costed, set beside the
model's own gross saving for the same year. Where they differ by more than a quarter, the
reason in plain words comes from the run itself: which costs the simulation moves that the
envelope leaves out (placement mix, social work, allowances, fixed costs of empty places).

Pure functions of the experiment's table by replication (`summary_by_scenario.csv`) and unit
costs a year (`unit_costs`, from the run's parameters); nothing here runs the model.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.levers import CATALOGUE
from sim.placements import PLACEMENT_LABELS
from sim.vocab import PLACEMENT_TYPES

from .run import BASELINE

WEEKS_A_YEAR = 365.25 / 7
LARGE_GAP = 0.25   # a gap above a quarter of the model's saving gets its reason in words

COLUMNS = ["scenario", "lever", "financial_year", "volume", "volume_means", "working", "envelope_saving",
           "model_gross_saving", "gap", "gap_share", "large_gap", "reason"]

COMPONENTS = {"cost_placements": "placements", "cost_social_work": "social_work", "cost_allowances": "allowances",
              "cost_fixed": "fixed"}


def unit_costs(params, fy: str) -> dict[str, float]:
    """£ a year per child in financial year `fy`, at that year's prices, from the parameters: each
    placement type's weekly price, spot homes split at £4,100 by the baseline's own share over it
    (added later from the run), social work a case-week on CIN and CP plans, the SGO allowance."""
    from sim.costs import growth_index, price_index
    c = params.costs
    out = {f"place_{k}": w * WEEKS_A_YEAR * price_index(params, fy, None, k) for k, w in c.placement_weekly.items()}
    out["spot_over_4100"] = c.residential_spot_over_4100_weekly * WEEKS_A_YEAR * price_index(params, fy, None, "over_4100")
    out["spot_under_4100"] = (c.residential_spot_under_4100_weekly * WEEKS_A_YEAR
                              * price_index(params, fy, None, "residential_spot"))
    sw = growth_index(params, fy, c.social_work_growth_per_year)
    for s in ("cin", "cp"):
        out[f"social_work_{s}"] = c.social_work_weekly.get(s, 0.0) * WEEKS_A_YEAR * sw
    out["sgo_allowance"] = c.sgo_allowance_weekly * WEEKS_A_YEAR * growth_index(params, fy, c.allowance_growth_per_year)
    return out


@dataclass
class Term:
    """One stock the lever changes: how many children fewer (or moved), and £ a year each by the
    cost it saves (`per`: component -> £ a year; a negative £ is a cost that starts)."""
    words: str
    stock: float
    per: dict

    @property
    def saving(self) -> float:
        return self.stock * sum(self.per.values())


def _means(summary: pd.DataFrame, scenario: str, fy: str) -> tuple[pd.Series, pd.Series]:
    """Baseline means and mean paired differences (scenario minus baseline) of every measure in `fy`."""
    s = summary[summary["financial_year"] == fy]
    b = s[s["scenario"] == BASELINE].pivot_table(index="replication", columns="measure", values="value")
    x = s[s["scenario"] == scenario].pivot_table(index="replication", columns="measure", values="value")
    reps = b.index.intersection(x.index)
    return b.loc[reps].mean(), (x.loc[reps] - b.loc[reps]).mean()


def _get(series: pd.Series, name: str) -> float:
    v = series.get(name, np.nan)
    return float(v) if v is not None and np.isfinite(v) else 0.0


def _k(x: float) -> str:
    a = abs(x)
    s = f"£{a / 1e6:.2f}m" if a >= 1e6 else f"£{a / 1e3:.1f}k" if a >= 1e3 else f"£{a:.0f}"
    return ("-" if x < 0 else "") + s


def _spot_unit(base: pd.Series, units: dict) -> float:
    """A spot home's £ a year at the baseline's own mix of placements over and under £4,100."""
    spot = _get(base, "cic_residential_spot_average")
    share = min(1.0, _get(base, "placements_over_4100_average") / spot) if spot > 0 else 0.0
    return share * units.get("spot_over_4100", 0.0) + (1 - share) * units.get("spot_under_4100", 0.0)


def _place_unit(p: str, base: pd.Series, units: dict) -> float:
    return _spot_unit(base, units) if p == "residential_spot" else units.get(f"place_{p}", 0.0)


def terms_for(lever: str, base: pd.Series, diff: pd.Series, units: dict) -> list[Term]:
    """The envelope's stocks and unit costs for a lever (its catalogue name). Children in care are
    costed at the baseline's own average placement cost a year per child in care, as a council's
    case would cost "a child kept out of care"."""
    cic = _get(base, "cic_average")
    avg = _get(base, "cost_placements") / cic if cic > 0 else 0.0
    care = Term("fewer children in care (average over the year)", -_get(diff, "cic_average"), {"placements": avg})
    cin = Term("fewer children on CIN plans", -_get(diff, "cin_average"), {"social_work": units.get("social_work_cin", 0.0)})
    cp = Term("fewer children on CP plans", -_get(diff, "cp_average"), {"social_work": units.get("social_work_cp", 0.0)})
    if lever in ("edge_of_care", "reunification", "faster_permanence"):
        return [care]
    if lever == "kinship_to_sgo":
        return [Term("fewer children in kinship care, each now on an SGO allowance", -_get(diff, "cic_kinship_average"),
                     {"placements": units.get("place_kinship", 0.0), "allowances": -units.get("sgo_allowance", 0.0)})]
    if lever == "fewer_repeat_plans":
        return [cin, cp, care]
    if lever == "shorter_plans":
        return [cin, cp]
    if lever == "foster_carers":
        return [Term("more children with in-house foster carers instead of agency carers",
                     _get(diff, "cic_foster_inhouse_average"),
                     {"placements": units.get("place_foster_ifa", 0.0) - units.get("place_foster_inhouse", 0.0)})]
    if lever == "block_beds":
        return [Term("more children in block-contract homes instead of spot homes", _get(diff, "cic_residential_block_average"),
                     {"placements": _spot_unit(base, units) - units.get("place_residential_block", 0.0)})]
    return []


def _lower(label: str) -> str:
    return label[:1].lower() + label[1:]


def _mix_words(diff: pd.Series, skip=(), n: int = 2) -> str:
    moves = sorted(((abs(_get(diff, f"cic_{p}_average")), p) for p in PLACEMENT_TYPES if p not in skip), reverse=True)
    parts = [f"{_get(diff, f'cic_{p}_average'):+.1f} {_lower(PLACEMENT_LABELS.get(p, p))}" for a, p in moves[:n] if a >= 0.5]
    return ", ".join(parts)


def reasons(lever: str, terms: list[Term], base: pd.Series, diff: pd.Series, units: dict) -> str:
    """Why the model's saving differs from the envelope: the components whose difference is more
    than a tenth of the model's saving, largest first, in words."""
    model = {c: -_get(diff, m) for m, c in COMPONENTS.items()}
    total = sum(model.values())
    env = {c: sum(t.stock * t.per.get(c, 0.0) for t in terms) for c in model}
    said = []
    for c in sorted(model, key=lambda c: -abs(model[c] - env[c])):
        r = model[c] - env[c]
        if abs(r) < 0.1 * max(abs(total), 1.0):
            continue
        more = "more" if r > 0 else "less"
        if c == "placements":
            care = next((t for t in terms if t.words.startswith("fewer children in care")), None)
            if care is not None and care.stock > 0.5:
                per = model["placements"] / care.stock
                said.append(f"the children no longer in care would have been in {'dearer' if per > care.per['placements'] else 'cheaper'} "
                            f"placements than the average child in care (the model saves {_k(per)} a year in placements "
                            f"for each child fewer in care, against the average {_k(care.per['placements'])}; "
                            f"placements by type: {_mix_words(diff) or 'small changes'})")
            else:
                skip = {"foster_inhouse", "foster_ifa"} if lever == "foster_carers" else \
                    {"residential_block", "residential_spot"} if lever == "block_beds" else \
                    {"kinship"} if lever == "kinship_to_sgo" else set()
                mix = _mix_words(diff, skip)
                # what the other placements' moves are worth at list prices; the rest is price, not volume
                moved = -sum(_get(diff, f"cic_{p}_average") * _place_unit(p, base, units)
                             for p in PLACEMENT_TYPES if p not in skip)
                words = f"placements save {_k(r)} {more} than the envelope"
                if mix:
                    words += f": children in other placements move too ({mix}, worth {_k(moved)} a year at list prices)"
                if abs(r - moved) > 0.5 * abs(r):
                    words += ("; the rest is placements costing more or less than their list prices in the model "
                              "(the share over £4,100, emergency or out-of-area prices)")
                said.append(words)
        elif c == "social_work":
            said.append(f"social work on children's cases saves {_k(r)} {more} than the envelope counts "
                        "(cases open for longer or shorter at every stage, not only the stock it costs)")
        elif c == "allowances":
            said.append(f"SGO and adoption allowances {'fall' if r > 0 else 'rise'} by {_k(abs(r))} beyond the envelope's")
        elif c == "fixed":
            said.append(f"the fixed costs of empty places (block and in-house beds, in-house carers' retainers) "
                        f"{'fall' if r > 0 else 'rise'} by {_k(abs(r))}")
    return "; ".join(said[:3])


def back_of_envelope(summary: pd.DataFrame, scenario_set, fy: str, units: dict) -> pd.DataFrame:
    """One row per scenario with a single lever: the envelope in words and £, the model's gross
    saving in `fy` (mean of paired differences), the gap (model minus envelope), its share of the
    model's saving, and, when it is above `LARGE_GAP`, the reason in words."""
    rows = []
    for sc in scenario_set.scenarios:
        if len(sc.levers) != 1 or sc.based_on is not None:
            continue
        lever = sc.levers[0].lever
        base, diff = _means(summary, sc.name, fy)
        if diff.empty:
            continue
        terms = terms_for(lever, base, diff, units)
        spec = CATALOGUE.get(lever)
        volume, means = np.nan, ""
        if spec is not None and spec.volume is not None:
            volume, means = spec.volume.sign * _get(diff, spec.volume.measure), spec.volume.words
        model = -_get(diff, "cost_total")
        if not terms:
            rows.append({"scenario": sc.name, "lever": lever, "financial_year": fy, "volume": volume, "volume_means": means,
                         "working": "no back-of-envelope form for this lever", "envelope_saving": np.nan,
                         "model_gross_saving": model, "gap": np.nan, "gap_share": np.nan, "large_gap": False,
                         "reason": ""})
            continue
        env = float(sum(t.saving for t in terms))
        working = []
        for t in terms:
            unit = sum(t.per.values())
            head = ""
            if len(terms) == 1 and np.isfinite(volume) and means.endswith("a year") and abs(volume) >= 0.5 and t.stock:
                head = f"{volume:.1f} {means}, each about {t.stock / volume:.1f} years: "
            working.append(f"{head}{t.stock:.1f} {t.words} × {_k(unit)} a year = {_k(t.saving)}")
        gap = model - env
        share = gap / abs(model) if abs(model) > 0 else np.nan
        large = bool(np.isfinite(share) and abs(share) > LARGE_GAP)
        rows.append({"scenario": sc.name, "lever": lever, "financial_year": fy, "volume": volume, "volume_means": means,
                     "working": "; ".join(working) + (f"; in all {_k(env)}" if len(terms) > 1 else ""),
                     "envelope_saving": env, "model_gross_saving": model, "gap": gap, "gap_share": share,
                     "large_gap": large, "reason": reasons(lever, terms, base, diff, units) if large else ""})
    return pd.DataFrame(rows, columns=COLUMNS)
