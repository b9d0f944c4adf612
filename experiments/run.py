"""Run a scenario set: every scenario and the baseline over the same replications (common random
numbers), with levers stated as targets resolved to mechanism intensities first.

Finished replications go to the cache the caller hands in (`carepath.cache.Cache` keeps them on
disk), keyed by the parameters' hash, the snapshot's hash, the model code's hash (sim/*.py), the
seed, the scenario's levers and the replication number, so an interrupted experiment resumes
without redoing them; each is stored as soon as its replication finishes, whichever backend runs
it (a local process pool or a Dask cluster, see sim/backends.py).
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import pandas as pd

from sim.backends import Backend, LocalBackend
from sim.calendar import FinancialYear, fy_edges
from sim.levers import Lever
from sim.replications import Job, levers_digest, run_jobs
from sim.version import model_digest

from .intervals import mean_ci

BASELINE = "baseline"


@dataclass
class Context:
    """What every replication of an experiment shares."""

    params: object
    snapshot: Optional[list]
    seed: int
    identity: str          # parameters hash + snapshot hash
    cache: object  # get(key) -> value or None, put(key, value): e.g. carepath.cache.Cache
    workers: int = 1
    progress: bool = True
    backend: Optional[Backend] = None   # default: a local process pool of `workers`, made when first needed

    def pool(self) -> Backend:
        """One backend for the whole experiment (workers start once)."""
        if self.backend is None:
            self.backend = LocalBackend(self.workers)
        return self.backend

    def close(self) -> None:
        if self.backend is not None:
            self.backend.close()
            self.backend = None

    def key(self, levers: list[Lever], rep: int, stocks: bool) -> str:
        """Parameters and snapshot, model code, seed, levers and replication: what a result depends on."""
        return (f"{self.identity}-{model_digest()}-{self.seed}-{levers_digest(levers)}-{rep}-"
                f"{'s' if stocks else 'n'}")


def run_many(ctx: Context, jobs: list[tuple[str, list[Lever], int]], stocks: bool = True,
             label: str = "replications") -> dict[tuple[str, int], dict]:
    """Run (name, levers, replication) jobs with `sim.replications.run_jobs`, from the cache where
    finished; results by (name, rep). The same levers and replication under two names run once;
    scenarios that change only costs reuse their simulation."""
    todo = [Job(name, rep, tuple(levers), stocks=stocks) for name, levers, rep in jobs]
    backend = ctx.pool() if ctx.workers > 1 or ctx.backend is not None else None
    return run_jobs(ctx.params, ctx.seed, ctx.snapshot, todo, backend=backend, workers=ctx.workers,
                    cache=ctx.cache, key=lambda j: ctx.key(list(j.levers), j.replication, j.stocks),
                    progress=ctx.progress, label=label)


# ----------------------------------------------------------------------------- target search
def _measure(summary: pd.DataFrame, fy: str, measure: str) -> float:
    v = summary[(summary["financial_year"] == fy) & (summary["measure"] == measure)]["value"]
    return float(v.iloc[0]) if len(v) else float("nan")


def full_effect_years(lever: Lever, target_fy: str, labels: list[str]) -> list[str]:
    """Financial years in which the lever is at full effect, up to the target year: a target
    like "35 fewer entries a year at full effect" is met on average over these years. If the
    ramp ends inside the target year, the target year alone."""
    full = lever.start + dt.timedelta(days=int(lever.ramp_months * 30.44))
    last = FinancialYear.parse(target_fy)
    years = [y for y in labels
             if FinancialYear.parse(y).first_day >= full and FinancialYear.parse(y).start_year <= last.start_year]
    return years or [target_fy]


def target_effect(name: str, base: pd.DataFrame, scen: pd.DataFrame, fy, lever: Lever) -> float:
    """The volume a target names, scenario against baseline (the lever catalogue, sim/levers.py,
    declares its measures and sign): a year's figure, or the average over several financial years
    when `fy` is a list; a gain judged `gain_per_year` is taken at the last year, a year since the
    lever started."""
    try:
        target = lever.spec.target(name)
    except KeyError:
        raise ValueError(f"no effect measure for target {name!r}") from None
    if isinstance(fy, (list, tuple)):
        if target.judged == "gain_per_year":  # a cumulative gain: judged at the last year
            fy = fy[-1]
        else:
            return float(np.mean([target_effect(name, base, scen, y, lever) for y in fy]))
    effect = None
    for m in target.measures:
        d = (_measure(scen, fy, m) - _measure(base, fy, m)) if target.sign > 0 else (_measure(base, fy, m) - _measure(scen, fy, m))
        effect = d if effect is None else effect + d
    if target.judged == "gain_per_year":
        years = max(1.0, (FinancialYear.parse(fy).end - lever.start).days / 365.25)
        return effect / years
    return effect


# A target volume's achieved value in the target year below this share of its best earlier year
# at full effect is "not sustainable": the flows the lever draws on cannot keep it up.
SUSTAIN_SHARE = 0.8

# Flags a lever's row and the headline carry (with a one-line reason in the note).
FLAG_NOT_REACHED = "target not reached"
FLAG_NOT_SUSTAINABLE = "not sustainable"
FLAG_AT_BOUND = "at its bound"
FLAG_PRECISION = "precision too low"


@dataclass
class Resolved:
    lever: Lever            # stated by mechanism
    target: str
    target_value: float
    intensity: float
    achieved: float         # in the target year (the year the target is judged in)
    low: float
    high: float
    steps: list = field(default_factory=list)  # (intensity, achieved)
    note: str = ""
    years: list = field(default_factory=list)  # the year the target was judged in (the target year)
    by_year: dict = field(default_factory=dict)  # at the intensity used: {financial year: mean achieved}
                                                 # over the years at full effect up to the target year
    flags: list = field(default_factory=list)  # FLAG_* that apply


_mean_ci = mean_ci  # the name business_case and report import


class TargetSearch:
    """Finds the intensity of one lever's mechanism whose effect in the target year, averaged
    over common-random-number replications, lands within tolerance of its target: max(5% of it,
    1 unit). A target volume means that volume in the target year (the council's year of full
    benefit), sustained: `fy` lists the years at full effect up to the target year, the last of
    which is judged; the others show whether the volume is kept up (`by_year`). Secant steps from
    a first guess, through the origin at first (no lever, no effect)."""

    def __init__(self, lever: Lever, fy, max_steps: int = 5):
        (self.tname, self.tval), = lever.target.items()
        fy = list(fy) if isinstance(fy, (list, tuple)) else [fy]
        self.lever, self.fy, self.max_steps = lever, fy, max_steps
        self.judged = fy[-1]
        self.by_year: dict[float, dict] = {}
        spec = lever.spec  # the lever catalogue (sim/levers.py): the key varied, its bound, a first guess
        self.key = spec.search_key.name
        self.tol = max(0.05 * self.tval, 1.0)
        self.upper = spec.search_key.hi
        self.xs, self.ys, self.steps = [0.0], [0.0], []
        self.best = None
        self.x: Optional[float] = float(min(spec.first_guess, self.upper))

    def jobs(self, reps: int):
        lv = self.lever.with_intensity(self.x)
        return [(self.job_name(), [lv], r) for r in range(reps)]

    def job_name(self) -> str:
        return f"search:{self.lever.lever}:{self.x!r}"

    def record(self, effects: np.ndarray, by_year: Optional[dict] = None) -> None:
        """`effects`: the target's volume in the judged year, by replication; `by_year`: the mean
        volume in each year at full effect (for the sustainability check)."""
        m, lo, hi = _mean_ci(effects)
        x = self.x
        self.by_year[round(x, 6)] = dict(by_year or {self.judged: m})
        self.steps.append((round(x, 6), round(m, 3)))
        self.xs.append(x)
        self.ys.append(m)
        if self.best is None or abs(m - self.tval) < abs(self.best[1] - self.tval):
            self.best = (x, m, lo, hi)
        if abs(m - self.tval) <= self.tol or len(self.steps) >= self.max_steps:
            self.x = None
            return
        order = np.argsort(np.abs(np.array(self.ys) - self.tval))[:2]
        (x0, y0), (x1, y1) = (self.xs[order[0]], self.ys[order[0]]), (self.xs[order[1]], self.ys[order[1]])
        nxt = x0 + (self.tval - y0) * (x1 - x0) / (y1 - y0) if y1 != y0 else x * 2
        if nxt <= 0:
            nxt = x / 2
        if x >= self.upper and nxt >= self.upper:
            self.x = None
            return
        self.x = float(min(max(nxt, 0.0), self.upper))

    def result(self) -> Resolved:
        x, m, lo, hi = self.best
        by_year = self.by_year.get(round(x, 6), {self.judged: m})
        flags, notes = judge_target(self.tval, self.tol, m, by_year, self.judged, x, self.upper, self.key, self.steps)
        return Resolved(self.lever.with_intensity(x), self.tname, self.tval, x, m, lo, hi, self.steps,
                        "; ".join(notes), [self.judged], by_year, flags)


def judge_target(target: float, tol: float, achieved: float, by_year: dict, judged: str, x: float,
                 upper: float, key: str, steps) -> tuple[list[str], list[str]]:
    """Flags and one-line reasons for a target search's outcome: reached; or not reached, and
    then why: the mechanism at its bound, the volume falling away over the years at full effect
    (not sustainable), or the search's steps used up."""
    flags, notes = [], []
    if abs(achieved - target) <= tol:
        return flags, notes
    flags.append(FLAG_NOT_REACHED)
    earlier = {y: v for y, v in by_year.items() if y != judged and np.isfinite(v)}
    peak_year = max(earlier, key=earlier.get) if earlier else None
    at_bound = np.isfinite(upper) and x >= upper - 1e-12
    if at_bound:
        flags.append(FLAG_AT_BOUND)
        notes.append(f"at its bound: {key} at its most ({upper:g}) delivers {achieved:.1f} in {judged} "
                     f"against a target of {target:g}")
        if achieved < target - tol and target > 0:
            # even at its most the mechanism falls short: the flow it acts on cannot supply the target
            flags.append(FLAG_NOT_SUSTAINABLE)
            notes.append(f"not sustainable: the children this lever acts on arrive too few to give {target:g} a "
                         f"year; the most it can deliver is {achieved:.1f} in {judged}")
    falling = (peak_year is not None and earlier[peak_year] > 0 and achieved < SUSTAIN_SHARE * earlier[peak_year])
    if falling and FLAG_NOT_SUSTAINABLE not in flags:
        flags.append(FLAG_NOT_SUSTAINABLE)
        notes.append(f"not sustainable: {earlier[peak_year]:.1f} in {peak_year} falling to {achieved:.1f} in {judged}; "
                     f"the children the lever draws on run out faster than they arrive, so {target:g} a year "
                     f"cannot be kept up")
    if not at_bound:
        notes.append(f"closest reachable: {achieved:.1f} in {judged} against a target of {target:g} "
                     f"after {len(steps)} search steps")
    return flags, notes


def resolve_targets(ctx: Context, levers: list[Lever], reps: int, fy: str) -> dict[str, Resolved]:
    """Resolve every target lever, all searches stepping together so each round runs in parallel.
    Each target is judged in its target year; the financial years at full effect up to it (see
    full_effect_years) show whether the volume is sustained."""
    labels = [label for label, _, _ in fy_edges(ctx.params.horizon.start_date, ctx.params.horizon.days)]
    searches = {levers_digest([lv]): TargetSearch(lv, full_effect_years(lv, lv.target_year or fy, labels))
                for lv in levers}
    base_jobs = [(BASELINE, [], r) for r in range(reps)]
    while any(s.x is not None for s in searches.values()):
        active = [s for s in searches.values() if s.x is not None]
        jobs = base_jobs + [j for s in active for j in s.jobs(reps)]
        res = run_many(ctx, jobs, label=f"target search ({len(active)} levers)")
        for s in active:
            per = {y: np.array([target_effect(s.tname, res[(BASELINE, r)]["summary"], res[(s.job_name(), r)]["summary"],
                                              y, s.lever) for r in range(reps)]) for y in s.fy}
            s.record(per[s.judged], {y: float(np.mean(v)) for y, v in per.items()})
    return {k: s.result() for k, s in searches.items()}


def resolve_target(ctx: Context, lever: Lever, reps: int, fy: str) -> Resolved:
    """One lever's target (see TargetSearch)."""
    return resolve_targets(ctx, [lever], reps, fy)[levers_digest([lever])]


def resolve_scenarios(ctx: Context, scenarios, reps: int, fy: str) -> tuple[dict[str, list[Lever]], list[dict]]:
    """Levers of every scenario stated by mechanism; targets resolved once per distinct lever."""
    targets = {levers_digest([lv]): lv for sc in scenarios for lv in sc.levers if lv.target}
    found = resolve_targets(ctx, list(targets.values()), reps, fy) if targets else {}
    table, out = [], {}
    for sc in scenarios:
        if sc.based_on is not None:
            levers = [scale_lever(lv, sc.intensity_scale) for lv in out[sc.based_on]]
            out[sc.name] = levers
            for orig, lv in zip(out[sc.based_on], levers):
                for k, v in lv.mechanism.items():
                    key = lv.spec.key(k)
                    wanted = orig.mechanism[k] * sc.intensity_scale if key.scales else orig.mechanism[k]
                    capped = key.scales and np.isfinite(key.hi) and wanted > key.hi + 1e-12
                    table.append({"scenario": sc.name, "lever": lv.lever, "stated_as": f"{sc.intensity_scale:g} x {sc.based_on}",
                                  "target": "", "target_value": np.nan, "mechanism": k, "intensity": v, "achieved": np.nan,
                                  "achieved_low": np.nan, "achieved_high": np.nan, "financial_year": "",
                                  "search_steps": "",
                                  "note": (f"at its bound: {k} {sc.intensity_scale:g} x {orig.mechanism[k]:.4g} = {wanted:.4g} "
                                           f"is capped at its most ({key.hi:g}), so this lever is stretched less"
                                           if capped else ""),
                                  "flags": FLAG_AT_BOUND if capped else "", "intensity_bound": key.hi,
                                  "achieved_by_year": ""})
            continue
        levers = []
        for lv in sc.levers:
            if lv.target:
                r = found[levers_digest([lv])]
                # the search's lever, with this scenario's money (running cost, investment: not in the digest)
                levers.append(r.lever.model_copy(update={"running_cost": lv.running_cost, "investment": lv.investment}))
                table.append({"scenario": sc.name, "lever": lv.lever, "stated_as": "target", "target": r.target,
                              "target_value": r.target_value, "mechanism": lv.mechanism_key(), "intensity": r.intensity,
                              "achieved": r.achieved, "achieved_low": r.low, "achieved_high": r.high,
                              "financial_year": ", ".join(r.years), "search_steps": json.dumps(r.steps), "note": r.note,
                              "flags": "; ".join(r.flags), "intensity_bound": lv.spec.search_key.hi,
                              "achieved_by_year": json.dumps({y: round(v, 3) for y, v in r.by_year.items()})})
            else:
                levers.append(lv)
                for k, v in lv.mechanism.items():
                    table.append({"scenario": sc.name, "lever": lv.lever, "stated_as": "mechanism", "target": "",
                                  "target_value": np.nan, "mechanism": k, "intensity": v, "achieved": np.nan,
                                  "achieved_low": np.nan, "achieved_high": np.nan, "financial_year": "",
                                  "search_steps": "", "note": "", "flags": "", "intensity_bound": np.nan,
                                  "achieved_by_year": ""})
        out[sc.name] = levers
    return out, table


def scale_lever(lever: Lever, factor: float) -> Lever:
    """A mechanism-stated lever with every intensity multiplied (shares capped at 1, counts
    rounded; what scales is declared in the lever catalogue, see `Lever.scaled`)."""
    return lever.scaled(factor)


# ---------------------------------------------------------------------------------- the set
@dataclass
class ExperimentResult:
    summary: pd.DataFrame        # scenario, replication, financial_year, measure, value
    stocks: pd.DataFrame         # scenario, replication, month, measure, value
    intensities: pd.DataFrame
    levers: dict
    sim_events: int
    replication_seconds: float
    risk: Optional[object] = None   # experiments.risk.RiskResult, when parameter draws were run


def run_experiment(ctx: Context, scenarios, replications: int, search_reps: int, fy: str) -> ExperimentResult:
    levers, table = resolve_scenarios(ctx, scenarios, search_reps, fy)
    jobs = [(BASELINE, [], r) for r in range(replications)]
    for sc in scenarios:
        jobs += [(sc.name, levers[sc.name], r) for r in range(replications)]
    res = run_many(ctx, jobs, stocks=True, label="scenario replications")
    summaries, stocks = [], []
    for (name, rep), v in sorted(res.items(), key=lambda kv: (kv[0][0] != BASELINE, kv[0][0], kv[0][1])):
        s = v["summary"].copy()
        s["replication"] = rep
        s.insert(0, "scenario", name)
        summaries.append(s)
        st = v["stocks"].copy()
        st["replication"] = rep
        st.insert(0, "scenario", name)
        stocks.append(st)
    order = [BASELINE] + [sc.name for sc in scenarios]
    summary = pd.concat(summaries, ignore_index=True)
    summary["scenario"] = pd.Categorical(summary["scenario"], categories=order, ordered=True)
    summary = summary.sort_values(["scenario", "replication", "financial_year", "measure"], kind="stable").reset_index(drop=True)
    summary["scenario"] = summary["scenario"].astype(str)
    stock = pd.concat(stocks, ignore_index=True)
    return ExperimentResult(
        summary=summary, stocks=stock, intensities=pd.DataFrame(table), levers=levers,
        sim_events=sum(v["sim_events"] for v in res.values()),
        replication_seconds=float(np.mean([v["wall_seconds"] for v in res.values()])),
    )


def paired_differences(summary: pd.DataFrame, scenario: str, measures=None) -> pd.DataFrame:
    """Scenario minus baseline, replication by replication (common random numbers): mean and a
    95% t interval, by financial year and measure."""
    base = summary[summary["scenario"] == BASELINE].set_index(["replication", "financial_year", "measure"])["value"]
    scen = summary[summary["scenario"] == scenario].set_index(["replication", "financial_year", "measure"])["value"]
    if measures is not None:
        base = base[base.index.get_level_values("measure").isin(measures)]
        scen = scen[scen.index.get_level_values("measure").isin(measures)]
    both = pd.DataFrame({"baseline": base, "scenario": scen}).dropna()
    both["difference"] = both["scenario"] - both["baseline"]
    rows = []
    for (fy, m), g in both.groupby(level=["financial_year", "measure"]):
        d, lo, hi = _mean_ci(g["difference"].to_numpy())
        rows.append({"financial_year": fy, "measure": m, "baseline": g["baseline"].mean(),
                     "scenario": g["scenario"].mean(), "difference": d, "low": lo, "high": hi,
                     "sd": float(np.std(g["difference"], ddof=1)) if len(g) > 1 else np.nan, "n": len(g)})
    return pd.DataFrame(rows, columns=["financial_year", "measure", "baseline", "scenario", "difference", "low", "high",
                                       "sd", "n"])


def replications_needed(sd: float, mean: float, n_now: int, relative: float = 0.1) -> int:
    """Replications for a 95% interval of half-width `relative` × |mean| (normal approximation,
    as in the replications algorithm of Hoad, Robinson and Davies)."""
    if not np.isfinite(sd) or mean == 0 or not np.isfinite(mean):
        return n_now
    return max(2, int(np.ceil((1.96 * sd / (relative * abs(mean))) ** 2)))


# ------------------------------------------------------------------------------ parameter draws
# the measures a draw keeps: costs, and what the levers' running costs and volumes read
# (experiments.business_case.with_derived and the lever catalogue's volumes)
DRAW_MEASURES = frozenset({"cost_total", "care_entries", "care_exits_sgo", "care_exits_reunification",
                           "weeks_to_permanence_average", "cin_plan_starts_repeat", "cp_plan_starts_repeat",
                           "cin_plan_average_weeks", "cp_plan_average_weeks", "foster_carers_at_year_end",
                           "cic_residential_block_average", "placement_moves", "cic_average"})


@dataclass
class DrawResult:
    """The scenario set over parameter draws: draw d ran replications d*R .. d*R+R-1 (R per draw)
    of the baseline and every scenario, all with the draw's parameters and levers."""

    summary: pd.DataFrame        # draw, scenario, replication, financial_year, measure, value
    values: dict                 # draw -> {input label: drawn value}
    params: dict                 # draw -> Params
    levers: dict                 # draw -> {scenario: [Lever]}
    n_draws: int
    replications_per_draw: int
    sim_events: int = 0


def draw_replications(draw: int, per_draw: int) -> list[int]:
    """The replication numbers (random numbers) of a draw: with one per draw, draw d is
    replication d, so point-mass draws are exactly the noise-only replications."""
    return list(range(draw * per_draw, (draw + 1) * per_draw))


def run_draws(ctx: Context, plan, levers: dict, names: list[str], n_draws: int, per_draw: int = 1) -> DrawResult:
    """Run `n_draws` parameter draws of `plan` (experiments.uncertainty.UncertaintyPlan): in each,
    the baseline and every scenario in `names` share the draw's parameters and random numbers, so
    each draw gives a paired saving. `levers`: each scenario's levers as resolved on the central
    parameters (target searches run once); each draw multiplies them by its lever effectiveness.
    Every replication goes through the cache (keyed by the draw's parameters and levers), and all
    draws' replications are handed to the backend at once, so any backend and number of workers
    give the same results, and an interrupted run resumes."""
    from sim.replications import Progress, run_group, simulation_levers
    values = {d: plan.values(ctx.seed, d) for d in range(n_draws)}
    params = {d: plan.params_for(values[d]) for d in range(n_draws)}
    dlevers = {d: plan.levers_for(values[d], levers) for d in range(n_draws)}
    snap_part = ctx.identity.split("-", 1)[1] if "-" in ctx.identity else ctx.identity
    keys: dict[str, tuple] = {}          # cache key -> (params, Job)
    names_of: dict[str, list[tuple[int, str, int]]] = {}
    for d in range(n_draws):
        dctx = Context(params[d], ctx.snapshot, ctx.seed, f"{params[d].digest()}-{snap_part}", ctx.cache)
        for rep in draw_replications(d, per_draw):
            for name in [BASELINE] + list(names):
                lv = [] if name == BASELINE else dlevers[d][name]
                k = dctx.key(lv, rep, False)
                names_of.setdefault(k, []).append((d, name, rep))
                if k not in keys:
                    keys[k] = (params[d], Job(name, rep, tuple(lv), stocks=False))
    results: dict[str, dict] = {}
    todo = {}
    for k, (p, job) in keys.items():
        hit = ctx.cache.get(k) if ctx.cache is not None else None
        if hit is None:
            todo[k] = (p, job)
        else:
            results[k] = hit
    groups: dict[tuple, list[str]] = {}   # jobs that differ only in costs share one simulation
    for k, (p, job) in todo.items():
        groups.setdefault((p.digest(), job.replication, levers_digest(simulation_levers(job.levers))), []).append(k)
    tasks = list(groups.values())
    bar = Progress(len(keys), label="parameter draws' replications", enabled=ctx.progress)
    bar.done = len(keys) - len(todo)
    if tasks:
        pool = ctx.pool() if ctx.workers > 1 or ctx.backend is not None else LocalBackend(1)
        args = [(todo[ks[0]][0], ctx.seed, ctx.snapshot, [todo[k][1] for k in ks]) for ks in tasks]
        for i, outs in pool.map_unordered(run_group, args):
            if tasks[i][0] in results:   # a task handed back twice (a lost worker's rerun) counts once
                continue
            for k, v in zip(tasks[i], outs):
                results[k] = v
                if ctx.cache is not None:
                    ctx.cache.put(k, v)
                bar.step()
    parts = []
    for k, where in names_of.items():
        s = results[k]["summary"]
        s = s[s["measure"].isin(DRAW_MEASURES)]
        for d, name, rep in where:
            f = s.copy()
            f["replication"] = rep
            f.insert(0, "scenario", name)
            f.insert(0, "draw", d)
            parts.append(f)
    summary = pd.concat(parts, ignore_index=True)
    summary = summary.sort_values(["draw", "scenario", "replication", "financial_year", "measure"],
                                  kind="stable").reset_index(drop=True)
    return DrawResult(summary, values, params, dlevers, n_draws, per_draw,
                      sim_events=sum(v["sim_events"] for v in results.values()))
