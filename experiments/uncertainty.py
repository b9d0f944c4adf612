"""Uncertain inputs of a scenario set (its `uncertainty:` section) and their draws.

Each input gives a distribution (normal, lognormal, beta, triangular, uniform, or a fixed value)
with a `source` (or "assumption") for one of:

- `path`: a dotted path into the parameters (one or a list, as `carepath sensitivity` reads them),
  e.g. `cp_plan.routes.step_down_cin.duration.median_days`; with `relative: true` the draw
  multiplies each path's central value (so one draw can move several durations together);
- `assumption`: one of the set's shared assumptions (`price_growth_by_type.residential_spot`,
  `price_growth_per_year`, `demand_growth_per_year`, ...), applied as the assumption would be;
- `lever`: a lever's effectiveness, a multiplier on the intensity its target search found (or on
  its stated mechanism), in every scenario that uses the lever: "35 fewer entries" is the plan,
  the draw is how well it is delivered;
- `calibrated: {file, measure}` beside a `path`: the distribution is fitted to the 95% interval
  `carepath calibrate` reports for that measure (its `calibrated_intervals.yaml`), and the draw is
  a multiplier (the measure's draw over its fitted value).

Inputs with the same `group` share one draw: one uniform, turned into each input's value by its
own quantile function, so they move together (one price index for several placement types).

The draws come from their own named streams (sim/streams.py `GlobalStream`, seeded by the set's
seed, the draw number and "parameter draw: <group>"), so a draw's values do not depend on how
many draws are run, which other inputs there are, the backend or the number of workers.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np
import yaml
from scipy import stats

from .uncertainty_spec import (ASSUMPTION_MAPS, ASSUMPTION_PATHS, DISTRIBUTIONS, NEEDS, NUMBERS,  # noqa: F401
                               Calibrated, UncertainInput, Uncertainty)

Z95 = float(stats.norm.ppf(0.975))
_EDGE = 1e-12   # the quantiles checked as a distribution's practical range


class UncertaintyError(ValueError):
    """An uncertainty section that cannot be used; one plain line."""


# ------------------------------------------------------------------------------ prepared inputs
def read_calibrated_intervals(path: Path) -> dict:
    """The measures of a `calibrated_intervals.yaml`: {measure: {value, low, high, ...}}."""
    if not path.exists():
        raise UncertaintyError(f"{path}: no such file (run `carepath calibrate`; it writes calibrated_intervals.yaml)")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise UncertaintyError(f"{path}: not readable YAML ({' '.join(str(exc).split())})") from None
    measures = data.get("measures") if isinstance(data, dict) else None
    if not isinstance(measures, dict):
        raise UncertaintyError(f"{path}: no 'measures' mapping (is it a calibrated_intervals.yaml?)")
    return measures


def _calibrated_dist(spec: UncertainInput, base: Path, where: str):
    """The multiplier's distribution fitted to the measure's 95% interval around its value."""
    c = spec.calibrated
    f = Path(c.file) if Path(c.file).is_absolute() else base / c.file
    try:
        m = read_calibrated_intervals(f).get(c.measure)
    except UncertaintyError as exc:
        raise UncertaintyError(f"{where}: calibrated.file: {exc}") from None
    if not isinstance(m, dict):
        raise UncertaintyError(f"{where}: calibrated measure {c.measure!r} is not in {f}")
    try:
        v, lo, hi = float(m["value"]), float(m["low"]), float(m["high"])
    except (KeyError, TypeError, ValueError):
        raise UncertaintyError(f"{where}: calibrated measure {c.measure!r} in {f} has no value, low and high") from None
    if not (math.isfinite(v) and math.isfinite(lo) and math.isfinite(hi) and 0 < lo <= v <= hi and lo < hi):
        raise UncertaintyError(f"{where}: calibrated measure {c.measure!r} in {f} needs 0 < low <= value <= high "
                               f"(got {v:g}, {lo:g}, {hi:g})")
    rl, rh = lo / v, hi / v   # the interval as multipliers of the fitted value
    if spec.distribution == "lognormal":
        return stats.lognorm(s=math.log(rh / rl) / (2 * Z95), scale=math.sqrt(rl * rh))
    if spec.distribution == "normal":
        return stats.norm(loc=1.0, scale=(rh - rl) / (2 * Z95))
    if spec.distribution == "triangular":
        return stats.triang(c=(1.0 - rl) / (rh - rl), loc=rl, scale=rh - rl)
    return stats.uniform(loc=rl, scale=rh - rl)


def _frozen(spec: UncertainInput):
    d = spec.distribution
    if d == "normal":
        return stats.norm(loc=spec.mean, scale=spec.sd)
    if d == "lognormal":
        return stats.lognorm(s=spec.sigma, scale=spec.median)
    if d == "beta":
        if spec.a is not None:
            return stats.beta(spec.a, spec.b)
        k = spec.mean * (1 - spec.mean) / spec.sd ** 2 - 1
        return stats.beta(spec.mean * k, (1 - spec.mean) * k)
    if d == "triangular":
        return stats.triang(c=(spec.mode - spec.low) / (spec.high - spec.low), loc=spec.low, scale=spec.high - spec.low)
    if d == "uniform":
        return stats.uniform(loc=spec.low, scale=spec.high - spec.low)
    return None


@dataclass
class Prepared:
    """One input, checked against the parameters: how a uniform becomes its value and where it goes."""

    spec: UncertainInput
    label: str
    group: str
    where: str                   # "uncertainty.inputs[i] (label)" for messages
    dist: object = None          # a frozen scipy distribution; None for a fixed value
    cdf_lo: float = 0.0
    cdf_hi: float = 1.0
    paths: list = field(default_factory=list)     # parameter paths it sets
    central: list = field(default_factory=list)   # their central values
    relative: bool = False

    def value(self, u: float) -> float:
        """The input's value for the uniform `u` in (0, 1)."""
        if self.dist is None:
            return float(self.spec.value)
        return float(self.dist.ppf(self.cdf_lo + u * (self.cdf_hi - self.cdf_lo)))

    def range(self) -> tuple[float, float]:
        """The draws' practical range: the quantiles 1e-12 and 1 - 1e-12 (truncation included)."""
        return self.value(_EDGE), self.value(1 - _EDGE)

    def unbounded(self) -> tuple[bool, bool]:
        """Whether the draws can run to minus or plus infinity (no truncation on that side)."""
        if self.dist is None:
            return False, False
        lo, hi = self.dist.support()
        t = self.spec.truncate
        return (not math.isfinite(lo) and t is None), (not math.isfinite(hi) and t is None)


def expand_path(data: dict, pattern: str) -> list[str]:
    """The numeric parameters a path with `*` matches: `*` for any key, `[*]` for any item, e.g.
    `care.exit_routes[*].*.*.duration.median_days` (every care exit route's median duration)."""
    import re
    parts = []
    for tok in pattern.split("."):
        m = re.fullmatch(r"([^\[\]]+)((?:\[(?:\d+|\*)\])*)", tok)
        if not m:
            return []
        parts.append(m.group(1))
        parts += [int(i) if i != "*" else "[*]" for i in re.findall(r"\[(\d+|\*)\]", m.group(2))]
    found: list[str] = []

    def walk(node, rest, shown):
        if not rest:
            if isinstance(node, (int, float)) and not isinstance(node, bool):
                found.append(shown)
            return
        head, tail = rest[0], rest[1:]
        if head == "[*]" and isinstance(node, list):
            for i, x in enumerate(node):
                walk(x, tail, f"{shown}[{i}]")
        elif isinstance(head, int) and isinstance(node, list) and 0 <= head < len(node):
            walk(node[head], tail, f"{shown}[{head}]")
        elif head == "*" and isinstance(node, dict):
            for k, x in node.items():
                walk(x, tail, f"{shown}.{k}" if shown else str(k))
        elif isinstance(head, str) and head not in ("*", "[*]") and isinstance(node, dict) and head in node:
            walk(node[head], tail, f"{shown}.{head}" if shown else head)

    walk(data, parts, "")
    return found


class UncertaintyPlan:
    """The checked inputs of a set and the central parameters; makes each draw's parameters and levers."""

    def __init__(self, section: Uncertainty, params, source: Path):
        from .sensitivity import get_value
        self.section, self.params, self.source = section, params, Path(source)
        self.data = params.model_dump(mode="json")
        self.inputs: list[Prepared] = []
        for i, spec in enumerate(section.inputs):
            where = f"{self.source}: uncertainty.inputs[{i}] ({spec.label})"
            if spec.calibrated is not None:
                dist = _calibrated_dist(spec, self.source.parent, where)
            else:
                dist = _frozen(spec)
            p = Prepared(spec, spec.label, spec.group or spec.label, where, dist,
                         relative=spec.relative or spec.lever is not None or spec.calibrated is not None)
            if spec.truncate is not None:
                lo, hi = spec.truncate
                p.cdf_lo, p.cdf_hi = float(dist.cdf(lo)), float(dist.cdf(hi))
                if not p.cdf_hi - p.cdf_lo > 1e-9:
                    raise UncertaintyError(f"{where}: truncate [{lo:g}, {hi:g}] leaves no room for the distribution")
            if spec.lever is None:
                p.paths = self._paths(spec, where)
                p.central = []
                for path in p.paths:
                    try:
                        p.central.append(float(get_value(self.data, path)))
                    except KeyError:
                        p.central.append(self._missing_map_value(path))
            self._check_range(p)
            self.inputs.append(p)

    # ---- targets
    def _paths(self, spec: UncertainInput, where: str) -> list[str]:
        from .sensitivity import get_value, parse_path
        if spec.assumption is not None:
            head, _, key = spec.assumption.partition(".")
            if head in ASSUMPTION_PATHS:
                paths = [p for p in ASSUMPTION_PATHS[head] if self._has(p)]
            else:
                paths = [f"{ASSUMPTION_MAPS[head]}.{key}"]
                if not self._has(paths[0]) and not self._map_key_allowed(head, key):
                    raise UncertaintyError(f"{where}: assumption {spec.assumption!r}: {key!r} is not a placement type")
            if not paths:
                raise UncertaintyError(f"{where}: assumption {spec.assumption!r} has nothing to act on in the parameters")
            return paths
        out = []
        for pattern in spec.paths:
            found = expand_path(self.data, pattern) if "*" in pattern else [pattern]
            if not found:
                raise UncertaintyError(f"{where}: unknown path {pattern!r} (no parameter matches it)")
            for path in found:
                try:
                    parse_path(path)
                    get_value(self.data, path)
                except (KeyError, ValueError) as exc:
                    raise UncertaintyError(f"{where}: unknown path {path!r} ({exc.args[0]})") from None
            out += [p for p in found if p not in out]
        return out

    def _has(self, path: str) -> bool:
        from .sensitivity import get_value
        try:
            get_value(self.data, path)
            return True
        except (KeyError, ValueError):
            return False

    @staticmethod
    def _map_key_allowed(head: str, key: str) -> bool:
        from sim.vocab import PLACEMENT_TYPES
        return key in PLACEMENT_TYPES or (head == "price_growth_by_type" and key == "over_4100")

    def _missing_map_value(self, path: str) -> float:
        """A price growth by type not in the parameters grows by the general price growth."""
        if path.startswith("costs.price_growth_by_type."):
            return float(self.data["costs"]["price_growth_per_year"])
        return 0.0

    # ---- the domain check
    def _check_range(self, p: Prepared) -> None:
        """Every value the distribution can give must be one the target can take: its practical
        range (quantiles 1e-12 to 1 - 1e-12) and, on a side it can run to infinity, any negative
        number and any number above 1 (so a normal on a probability, a duration or a multiplier
        that cannot be negative is refused: truncate it or choose a bounded distribution)."""
        lo, hi = p.range()
        neg, big = p.unbounded()
        probes = [(lo, f"{lo:.4g}"), (hi, f"{hi:.4g}")]
        if neg:
            probes.append((min(lo, -1e-9), "negative values"))
        if big:
            probes.append((max(hi, 1.0 + 1e-9), "values above 1"))
        what = "can give" if (neg or big) else "gives values up to"
        for x, shown in probes:
            problem = self._refused(p, x)
            if problem:
                how = "" if p.spec.truncate else "; truncate it (truncate: [low, high]) or choose a bounded distribution"
                kind = p.spec.distribution + (" multiplier" if p.relative else "")
                raise UncertaintyError(f"{p.where}: a {kind} that {what} {shown} is not possible here "
                                       f"({problem}){how}")

    def _refused(self, p: Prepared, x: float) -> Optional[str]:
        from sim.params import ParamsError, params_from_dict
        if p.spec.lever is not None:
            return "a lever's effectiveness multiplier must not be negative" if x < 0 else None
        try:
            params_from_dict(self._set(self.data, p, x), "parameters")
        except (ValueError, KeyError) as exc:
            return f"{', '.join(p.paths)}: {exc.args[0]}"
        except ParamsError as exc:
            return str(exc).removeprefix("parameters: ")
        return None

    def _set(self, data: dict, p: Prepared, x: float) -> dict:
        """`data` with the input's paths at `x` (a copy; `data` itself when nothing changes)."""
        import copy

        from .sensitivity import _decision, parse_path, set_value
        copied = False
        for path, c in zip(p.paths, p.central):
            v = c * x if p.relative else x
            here = self._has_in(data, path)
            if v == c and here:
                continue     # the central value: leave the parameters exactly as they are
            parts = parse_path(path) if here else path.split(".")
            if here and _decision(data, parts) is not None:
                data, copied = set_value(data, path, v), True   # one outcome of a decision: the others renormalised
                continue
            if not copied:
                data, copied = copy.deepcopy(data), True
            node = data
            for k in parts[:-1]:
                node = node[k]
            old = node.get(parts[-1]) if isinstance(node, dict) else node[parts[-1]]
            node[parts[-1]] = int(round(v)) if isinstance(old, int) and not isinstance(old, bool) else v
        return data

    @staticmethod
    def _has_in(data: dict, path: str) -> bool:
        from .sensitivity import get_value
        try:
            get_value(data, path)
            return True
        except (KeyError, ValueError):
            return False

    # ---- draws
    @property
    def groups(self) -> list[str]:
        return list(dict.fromkeys(p.group for p in self.inputs))

    def uniforms(self, seed: int, draw: int) -> dict[str, float]:
        """One uniform per group from its own named stream (seed, draw, 'parameter draw: <group>')."""
        from sim.streams import GlobalStream
        return {g: GlobalStream(seed, draw, f"parameter draw: {g}").uniform() for g in self.groups}

    def values(self, seed: int, draw: int) -> dict[str, float]:
        """{input label: drawn value} for one draw."""
        u = self.uniforms(seed, draw)
        return {p.label: p.value(u[p.group]) for p in self.inputs}

    def params_for(self, values: dict[str, float]):
        """The draw's parameters (the central ones, the same object, when nothing moves)."""
        from sim.params import ParamsError, params_from_dict
        data = self.data
        for p in self.inputs:
            if p.spec.lever is None:
                data = self._set(data, p, values[p.label])
        if data is self.data:
            return self.params
        try:
            return params_from_dict(data, "parameters")
        except ParamsError as exc:
            shown = ", ".join(f"{k}={v:.4g}" for k, v in values.items())
            raise UncertaintyError(f"{self.source}: the drawn inputs ({shown}) make the parameters invalid: "
                                   f"{str(exc).removeprefix('parameters: ')}") from None

    def lever_multipliers(self, values: dict[str, float]) -> dict[str, float]:
        out: dict[str, float] = {}
        for p in self.inputs:
            if p.spec.lever is not None:
                out[p.spec.lever] = out.get(p.spec.lever, 1.0) * values[p.label]
        return out

    def levers_for(self, values: dict[str, float], levers: dict) -> dict:
        """Each scenario's levers (as resolved on the central parameters) with each lever's
        intensity multiplied by its drawn effectiveness (shares capped at 1, counts rounded)."""
        mult = self.lever_multipliers(values)
        return {name: [lv.scaled(mult[lv.lever]) if mult.get(lv.lever, 1.0) != 1.0 else lv for lv in lvs]
                for name, lvs in levers.items()}

    def regressors(self, values_by_draw: dict[int, dict[str, float]]) -> tuple[list[str], np.ndarray]:
        """One column per group (the inputs that share a draw move as one), for the drivers'
        regression: a lone input's drawn value; a group's mean of its inputs' standardised values."""
        draws = sorted(values_by_draw)
        names, cols = [], []
        for g in self.groups:
            members = [p for p in self.inputs if p.group == g]
            mat = np.array([[values_by_draw[d][p.label] for p in members] for d in draws], dtype=float)
            if len(members) == 1:
                names.append(members[0].label)
                cols.append(mat[:, 0])
            else:
                sd = mat.std(axis=0)
                z = (mat - mat.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
                names.append(f"{g} ({', '.join(p.label for p in members)})")
                cols.append(z.mean(axis=1))
        return names, (np.column_stack(cols) if cols else np.zeros((len(draws), 0)))


def drawn_scenarios(section: Uncertainty, scenario_set, source) -> list[str]:
    """The scenarios the draws run: the section's `scenarios` (checked), else all of the set's."""
    names = [sc.name for sc in scenario_set.scenarios]
    if section.scenarios is None:
        return names
    unknown = [n for n in section.scenarios if n not in names]
    if unknown:
        raise UncertaintyError(f"{source}: uncertainty.scenarios: {unknown[0]!r} is not a scenario of the set "
                               f"(known: {', '.join(names)})")
    wanted = set(section.scenarios)
    by = {sc.name: sc for sc in scenario_set.scenarios}
    for n in list(wanted):   # with the scenarios they are based on (their investment and levers)
        while by[n].based_on is not None:
            n = by[n].based_on
            wanted.add(n)
    return [n for n in names if n in wanted]


def prepare(section: Optional[Uncertainty], params, source: Path) -> Optional[UncertaintyPlan]:
    """The checked plan of a set's uncertainty section (None without one); UncertaintyError with
    one line naming the field for an input that cannot be used."""
    if section is None:
        return None
    return UncertaintyPlan(section, params, source)
