"""Scenarios as the app keeps them, and the scenario-set YAML they become.

A saved scenario is a plain dict (`spec`): its name and description, the baseline it runs
against (the shipped defaults, or a calibration or refresh output folder's `params.yaml`), the
shared assumptions (price growth, demand growth), its levers as a scenario file writes them, an
optional investment by financial year, and whether to run each lever alone as well (for the
per-lever attribution). `scenario_set` turns one or more of them into the scenario-set YAML that
`carepath experiment` reads: the app runs exactly that file through that command, so the same
file and seed give byte-identical results outside the app.

Validation reads the lever catalogue (sim/levers.py) and then the scenario file's own schema
(experiments/scenarios.py), and returns problems by form field, in plain words.
"""
from __future__ import annotations

import datetime as dt
import math
import tempfile
from pathlib import Path
from typing import Optional

import yaml

from experiments.scenarios import ScenarioError, ScenarioSet, load_scenarios
from sim.calendar import FinancialYear
from sim.levers import CATALOGUE, INF, Key
from sim.params import ParamsError, load_params
from sim.vocab import PLACEMENT_TYPES

from ..options import default_params

SHIPPED = ""            # a spec's baseline for the shipped defaults
DEFAULT_SEED = 12345
DEFAULT_REPLICATIONS = 8
SEARCH_STEPS = 5        # the most steps a target search takes (experiments/run.py TargetSearch)
ASSUMPTIONS = {         # form field -> (words, Assumptions field); entered as % a year
    "price_growth_per_year": "Price growth (% a year, every placement type)",
    "demand_growth_per_year": "Demand growth (% a year: new contacts and direct entries to care)",
}


def new_spec(name: str = "") -> dict:
    return {"name": name, "description": "", "baseline": SHIPPED, "assumptions": {}, "levers": [],
            "investment": {}, "attribution": True}


def baseline_file(baseline: str) -> Path:
    """The parameter file a spec's baseline names: the shipped defaults, a parameter file, or a
    folder holding one (`params.yaml`, as `carepath calibrate` and `carepath refresh` write)."""
    if not baseline:
        return default_params()
    p = Path(baseline).expanduser()
    return p / "params.yaml" if p.is_dir() else p


def baseline_words(baseline: str) -> str:
    return "the shipped defaults (Nottingham-like council)" if not baseline else str(baseline)


def check_baseline(baseline: str) -> Optional[str]:
    """None if the baseline can be used, else why not (one line)."""
    if not baseline:
        return None
    p = Path(baseline).expanduser()
    if not p.is_absolute():
        return "give the folder's full path (for example /home/me/results/calibration)"
    f = baseline_file(baseline)
    if not f.exists():
        return (f"{p} holds no params.yaml: choose a folder written by carepath calibrate or carepath refresh"
                if p.is_dir() else f"{p} does not exist")
    try:
        load_params(f)
    except (ParamsError, OSError, ValueError) as exc:
        return f"{f} cannot be used as a baseline: {exc}"
    return None


def horizon(baseline: str):
    """(start date, financial years) of the baseline's forecast; the shipped defaults' if it cannot be read."""
    try:
        p = load_params(baseline_file(baseline))
    except (ParamsError, OSError, ValueError):
        p = load_params(default_params())
    from sim.calendar import fy_edges

    return p.horizon.start_date, [label for label, _, _ in fy_edges(p.horizon.start_date, p.horizon.days)]


def default_lever(name: str, baseline: str = SHIPPED) -> dict:
    """A new lever's form values: from the second financial year, a year's ramp, no values yet."""
    start, _ = horizon(baseline)
    return {"lever": name, "start": dt.date(start.year + 1, start.month, start.day).isoformat(), "ramp_months": 12.0,
            "mechanism": {}, "target": {}}


# ------------------------------------------------------------------------------ forms
def _number(text: str) -> Optional[float]:
    text = (text or "").strip().replace(",", "").replace("£", "")
    if not text:
        return None
    v = float(text)
    if not math.isfinite(v):
        raise ValueError
    return v


def _fmt(v) -> str:
    if v is None:
        return ""
    return f"{v:g}" if isinstance(v, float) and abs(v) < 1e15 else str(v)


def bound_words(k: Key) -> str:
    """A key's allowed range in words, with its unit."""
    if k.kind == "fraction" and (k.lo, k.hi) == (0.0, 1.0):
        return "0 to 1 (0 or 1 for a switch)" if k.unit == "0 or 1" else "0 to 1 (a share: 0.2 is 20%)"
    if k.lo == -INF and k.hi == INF:
        return f"any number ({k.unit})"
    if k.hi == INF:
        return f"{k.lo:g} or more ({k.unit})"
    if k.lo == -INF:
        return f"at most {k.hi:g} ({k.unit})"
    return f"{k.lo:g} to {k.hi:g} ({k.unit})"


def spec_from_form(form, old: Optional[dict] = None) -> tuple[dict, dict[str, str]]:
    """The spec a scenario form describes, and the problems by field name (empty if none).
    Fields: name, description, baseline_kind (shipped|folder), baseline_folder, the assumptions
    in % a year, investment ("2022/23 = 250000; ..."), attribution, and for lever i:
    lever-i-name, -start, -ramp, -end, -mode (mechanism|target), -key-NAME, -target-NAME,
    -target_year, -placement_type."""
    errors: dict[str, str] = {}
    spec = new_spec()
    spec["name"] = (form.get("name") or "").strip()
    spec["description"] = (form.get("description") or "").strip()
    if not spec["name"]:
        errors["name"] = "give the scenario a name"
    elif spec["name"] == "baseline" or any(c in spec["name"] for c in "/\\:") or len(spec["name"]) > 80:
        errors["name"] = "a name of at most 80 characters, without / \\ or :, and not 'baseline'"
    if form.get("baseline_kind") == "folder":
        spec["baseline"] = (form.get("baseline_folder") or "").strip()
        if not spec["baseline"]:
            errors["baseline_folder"] = "give the folder of a calibration or refresh (it holds params.yaml)"
        else:
            problem = check_baseline(spec["baseline"])
            if problem:
                errors["baseline_folder"] = problem
    for field in ASSUMPTIONS:
        try:
            v = _number(form.get(field, ""))
        except ValueError:
            errors[field] = "must be a number, for example 3 for 3% a year"
            continue
        if v is not None:
            if not -50 < v < 100:
                errors[field] = "must be a yearly % between -50 and 100 (3 for 3% a year)"
            else:
                spec["assumptions"][field] = round(v / 100, 10)
    inv_text = (form.get("investment") or "").strip()
    if inv_text:
        try:
            for part in inv_text.replace("\n", ";").split(";"):
                if not part.strip():
                    continue
                fy, _, amount = part.partition("=")
                fy = fy.strip()
                FinancialYear.parse(fy)
                x = _number(amount)
                if x is None or x < 0:
                    raise ValueError
                spec["investment"][fy] = x
        except ValueError:
            errors["investment"] = "write it as financial year = £ amount, separated by ';', for example 2022/23 = 250000; 2023/24 = 250000"
    spec["attribution"] = form.get("attribution") in ("on", "1", "true", True)
    if old and old.get("uncertainty"):  # an imported file's uncertain inputs (the form does not edit them)
        spec["uncertainty"] = old["uncertainty"]
    _, years = horizon(spec["baseline"])
    old_levers = (old or {}).get("levers", [])
    i = 0
    while f"lever-{i}-name" in form:
        lv, errs = _lever_from_form(form, i, years, old_levers[i] if i < len(old_levers) else None)
        spec["levers"].append(lv)
        errors.update(errs)
        i += 1
    if not errors:
        problem = check_spec(spec)
        if problem:
            errors["scenario"] = problem
    return spec, errors


def _lever_from_form(form, i: int, years: list[str], old: Optional[dict]) -> tuple[dict, dict[str, str]]:
    p = f"lever-{i}-"
    errors: dict[str, str] = {}
    name = form.get(p + "name", "")
    spec = CATALOGUE.get(name)
    if spec is None:
        return {"lever": name, "mechanism": {}, "target": {}}, {p + "name": f"unknown lever {name!r}"}
    lv: dict = {"lever": name, "mechanism": {}, "target": {}}
    for keep in ("running_cost", "investment"):  # money the form does not edit (imported with the file)
        if old and old.get("lever") == name and old.get(keep):
            lv[keep] = old[keep]
    try:
        lv["start"] = dt.date.fromisoformat((form.get(p + "start") or "").strip()).isoformat()
    except ValueError:
        errors[p + "start"] = "a date like 2022-11-01"
        lv["start"] = (form.get(p + "start") or "").strip()
    try:
        ramp = _number(form.get(p + "ramp", ""))
        if ramp is None or ramp < 0 or ramp > 240:
            raise ValueError
        lv["ramp_months"] = ramp
    except ValueError:
        errors[p + "ramp"] = "months to full effect: a number from 0 to 240"
        lv["ramp_months"] = form.get(p + "ramp", "")
    end = (form.get(p + "end") or "").strip()
    if end:
        try:
            lv["end"] = dt.date.fromisoformat(end).isoformat()
        except ValueError:
            errors[p + "end"] = "a date like 2027-03-31, or leave it empty"
            lv["end"] = end
    mode = form.get(p + "mode", "mechanism")
    if mode == "target" and spec.targets:
        for t in spec.targets:
            raw = form.get(p + "target-" + t.name, "")
            try:
                v = _number(raw)
            except ValueError:
                errors[p + "target-" + t.name] = "must be a number"
                continue
            if v is not None:
                if v < 0:
                    errors[p + "target-" + t.name] = "must not be negative"
                lv["target"][t.name] = v
        if not lv["target"] and not any(k.startswith(p + "target-") for k in errors):
            errors[p + "target-" + spec.targets[0].name] = "give the target volume"
        if len(lv["target"]) > 1:
            errors[p + "target-" + spec.targets[0].name] = "one target per lever"
        ty = (form.get(p + "target_year") or "").strip()
        if ty:
            if ty not in years:
                errors[p + "target_year"] = f"a financial year of the forecast, {years[0]} to {years[-1]}"
            lv["target_year"] = ty
    else:
        for k in spec.keys:
            raw = form.get(p + "key-" + k.name, "")
            try:
                v = _number(raw)
            except ValueError:
                errors[p + "key-" + k.name] = f"must be a number: {bound_words(k)}"
                continue
            if v is None:
                continue
            lv["mechanism"][k.name] = v
            if not k.lo <= v <= k.hi:
                errors[p + "key-" + k.name] = f"out of range: must be {bound_words(k)}"
            elif k.act == "price_growth" and abs(v) >= 1:
                errors[p + "key-" + k.name] = "a fraction a year: 0.05 for 5%"
            elif k.kind == "percent" and v <= -100:
                errors[p + "key-" + k.name] = "a % change above -100 (-10 for 10% cheaper)"
        if not lv["mechanism"] and not any(k.startswith(p + "key-") for k in errors):
            errors[p + "key-" + spec.keys[0].name] = "give at least one value" + (
                ", or state the lever by a target" if spec.targets else "")
    if spec.placement_type:
        pt = form.get(p + "placement_type", "")
        if pt:
            if pt not in PLACEMENT_TYPES:
                errors[p + "placement_type"] = "choose a placement type"
            lv["placement_type"] = pt
    if not errors:
        from sim.levers import Lever

        try:
            Lever.model_validate(lv)
        except ValueError as exc:  # pydantic's ValidationError is a ValueError: the lever's own checks
            msg = str(exc.errors()[0]["msg"]) if hasattr(exc, "errors") else str(exc)
            errors[p + "name"] = msg.removeprefix("Value error, ")
    return lv, errors


def form_values(spec: dict) -> dict:
    """The form's field values for a spec (the inverse of spec_from_form)."""
    v = {"name": spec["name"], "description": spec.get("description", ""),
         "baseline_kind": "folder" if spec.get("baseline") else "shipped", "baseline_folder": spec.get("baseline", ""),
         "investment": "; ".join(f"{fy} = {_fmt(x)}" for fy, x in spec.get("investment", {}).items()),
         "attribution": spec.get("attribution", True)}
    for field in ASSUMPTIONS:
        x = spec.get("assumptions", {}).get(field)
        v[field] = "" if x is None else f"{round(x * 100, 8):g}"
    for i, lv in enumerate(spec.get("levers", [])):
        p = f"lever-{i}-"
        v[p + "name"] = lv["lever"]
        v[p + "start"] = lv.get("start", "")
        v[p + "ramp"] = _fmt(lv.get("ramp_months", 12.0))
        v[p + "end"] = lv.get("end", "") or ""
        v[p + "mode"] = "target" if lv.get("target") else "mechanism"
        for k, x in lv.get("mechanism", {}).items():
            v[p + "key-" + k] = _fmt(x)
        for k, x in lv.get("target", {}).items():
            v[p + "target-" + k] = _fmt(x)
        v[p + "target_year"] = lv.get("target_year", "") or ""
        v[p + "placement_type"] = lv.get("placement_type", "") or ""
    return v


# ------------------------------------------------------------------------------ scenario sets
def _lever_yaml(lv: dict) -> dict:
    out = {"lever": lv["lever"], "start": dt.date.fromisoformat(lv["start"]), "ramp_months": lv["ramp_months"]}
    if lv.get("end"):
        out["end"] = dt.date.fromisoformat(lv["end"])
    for k in ("mechanism", "target"):
        if lv.get(k):
            out[k] = dict(lv[k])
    for k in ("target_year", "placement_type", "running_cost", "investment"):
        if lv.get(k):
            out[k] = lv[k]
    return out


def alone_name(name: str, lever: str) -> str:
    """The scenario of one of a scenario's levers alone (for the per-lever attribution)."""
    return f"{name} [{CATALOGUE[lever].label} alone]"


def scenario_set(specs: list[dict], *, title: str, seed: int, replications: int,
                 search_replications: int = 4, draws: int = 0) -> dict:
    """The scenario set (as a plain mapping) that runs `specs` together against their baseline:
    they must share it and the assumptions (they are the set's, applied to baseline and
    scenarios alike)."""
    if not specs:
        raise ScenarioError("choose at least one scenario to run")
    first = specs[0]
    for s in specs[1:]:
        if s.get("baseline", "") != first.get("baseline", "") or s.get("assumptions", {}) != first.get("assumptions", {}):
            raise ScenarioError(f"scenarios {first['name']!r} and {s['name']!r} have different baselines or assumptions: "
                                "run them separately, then compare the runs")
    out: dict = {"name": title, "description": "made with carepath app",
                 "baseline": str(baseline_file(first.get("baseline", "")).resolve()),
                 "replications": int(replications), "seed": int(seed), "search_replications": int(search_replications)}
    if draws and "draws" in ScenarioSet.model_fields:  # parameter uncertainty, where this carepath has it
        out["draws"] = int(draws)
        used = {lv["lever"] for s in specs for lv in s["levers"]}
        out["uncertainty"] = first.get("uncertainty") or shipped_uncertainty(used)
    if first.get("assumptions"):
        out["assumptions"] = dict(first["assumptions"])
    scenarios = []
    for s in specs:
        sc: dict = {"name": s["name"]}
        if s.get("description"):
            sc["description"] = s["description"]
        if s.get("investment"):
            sc["investment"] = dict(s["investment"])
        sc["levers"] = [_lever_yaml(lv) for lv in s["levers"]]
        scenarios.append(sc)
        if s.get("attribution") and len(s["levers"]) > 1:
            for lv in s["levers"]:
                scenarios.append({"name": alone_name(s["name"], lv["lever"]),
                                  "description": f"{s['name']}: {CATALOGUE[lv['lever']].label} alone (per-lever attribution)",
                                  "levers": [_lever_yaml({k: v for k, v in lv.items() if k != "investment"})]})
    out["scenarios"] = scenarios
    return out


def shipped_uncertainty(levers: set[str]) -> Optional[dict]:
    """The shipped business case's uncertain inputs (how well each lever is delivered, prices,
    demand), keeping only the delivery of the levers a run uses."""
    from ..options import default_business_case

    raw = yaml.safe_load(default_business_case().read_text(encoding="utf-8")) or {}
    unc = raw.get("uncertainty")
    if not isinstance(unc, dict):
        return None
    unc = dict(unc)
    unc["inputs"] = [i for i in unc.get("inputs", []) if not isinstance(i, dict) or i.get("lever") in (None, *levers)]
    return unc


def dump_yaml(data: dict) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def validate_set(text: str, source: str = "scenario set") -> ScenarioSet:
    """The scenario set a YAML text holds, checked exactly as `carepath experiment` checks its file
    (ScenarioError, one line, if it cannot be used)."""
    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / "scenarios.yaml"
        f.write_text(text, encoding="utf-8")
        try:
            return load_scenarios(f)
        except ScenarioError as exc:
            raise ScenarioError(str(exc).replace(str(f), source)) from None


def check_spec(spec: dict) -> Optional[str]:
    """None if the scenario makes a scenario file `carepath experiment` accepts, else why not."""
    if not spec["levers"]:
        return "add at least one lever"
    try:
        validate_set(dump_yaml(scenario_set([spec], title=spec["name"], seed=DEFAULT_SEED,
                                            replications=DEFAULT_REPLICATIONS)), "this scenario")
    except ScenarioError as exc:
        return str(exc)
    return None


def import_set(text: str, source: str) -> tuple[list[dict], list[str]]:
    """Saved-scenario specs from an uploaded scenario-set YAML, and notes on what was left out.
    A relative baseline is read beside the shipped scenario files (so the shipped business case
    imports as it is)."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ScenarioError(f"{source}: not readable as YAML{where}") from None
    if not isinstance(raw, dict):
        raise ScenarioError(f"{source}: not a scenario set (expected a mapping with 'baseline' and 'scenarios')")
    base = raw.get("baseline")
    shipped_dir = default_params().parent
    if isinstance(base, str) and not Path(base).is_absolute():
        candidate = (shipped_dir / base).resolve()
        raw["baseline"] = str(candidate)
    sset = validate_set(yaml.safe_dump(raw, sort_keys=False), source)
    bfile = Path(sset.baseline)
    baseline = SHIPPED if bfile.resolve() == default_params().resolve() else str(
        bfile.parent if bfile.name == "params.yaml" else bfile)
    problem = check_baseline(baseline)
    if problem:
        raise ScenarioError(f"{source}: baseline: {problem}")
    assumptions = {}
    if sset.assumptions is not None:
        a = sset.assumptions
        for field in ASSUMPTIONS:
            if getattr(a, field) is not None:
                assumptions[field] = getattr(a, field)
    notes = []
    if sset.assumptions is not None:
        other = {k for k, v in sset.assumptions.model_dump(exclude_defaults=True).items()
                 if k not in ASSUMPTIONS and k != "source" and v}
        if other:
            notes.append(f"assumptions the app does not edit were left out: {', '.join(sorted(other))}")
    specs = []
    for sc in sset.scenarios:
        if sc.based_on is not None:
            notes.append(f"{sc.name!r} stretches {sc.based_on!r} by {sc.intensity_scale:g}: stretched scenarios "
                         "are not imported (state its levers instead)")
            continue
        levers = []
        for lv in sc.levers:
            d = lv.model_dump(mode="json", exclude_none=True)
            d = {k: v for k, v in d.items() if v != {} or k in ("mechanism", "target")}
            if lv.running_cost is not None:
                d["running_cost"] = lv.running_cost.model_dump(mode="json")
            if lv.investment:
                d["investment"] = dict(lv.investment)
            levers.append(d)
        spec = new_spec(sc.name)
        if isinstance(raw.get("uncertainty"), dict):
            spec["uncertainty"] = raw["uncertainty"]
        spec.update(description=sc.description.strip(), baseline=baseline, assumptions=dict(assumptions), levers=levers,
                    investment=sset.investment_of(sc) if sc.investment is not None else {},
                    attribution=False)
        specs.append(spec)
    return specs, notes


def search_seconds(spec: dict, seconds_per_replication: float, workers: int, search_replications: int = 4) -> dict[int, float]:
    """For each lever that can be stated as a target (by index): about how long its search can
    take at most, in seconds (its steps, each of `search_replications` replications, in parallel)."""
    out = {}
    for i, lv in enumerate(spec.get("levers", [])):
        if lv.get("lever") in CATALOGUE and CATALOGUE[lv["lever"]].targets:
            per_step = math.ceil(search_replications / max(1, workers)) * seconds_per_replication
            out[i] = SEARCH_STEPS * per_step
    return out
