"""A council's own inputs: what it knows that its activity data do not carry.

Unit costs, in-house foster carers and beds, block contracts, teams and caseload limits,
allowances, the edge-of-care service, the programme's investment and its lever targets live in
one YAML file (`carepath init-council` writes a commented template). Its `costs`, `capacity`
and `edge_of_care` sections use the parameter file's own names and overlay the fitted
parameters; whatever the council leaves out comes from the template parameter set, and is
listed, loudly, so a council never runs on another council's figures without knowing it.

Money may be written as a number or with its unit ("£4,500 a week"); a value in the wrong unit
("£234,000 a year" where a weekly cost is expected) is refused, as is a growth rate written as
a percentage number (5 for 5%; write 0.05 or "5%").
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.params import Params, ParamsError, params_from_dict, read_yaml_mapping

SECTIONS = ("costs", "capacity", "edge_of_care")
TOP_LEVEL = ("council", "investment", "levers") + SECTIONS
# what every council must state: a template's in-house capacity describes another council
REQUIRED = (
    ("council", "name"),
    ("capacity", "foster_carers", "initial_carers"),
    ("capacity", "residential_inhouse_beds"),
    ("capacity", "residential_block_beds"),
)
_MONEY = re.compile(r"^\s*£?\s*(-?[\d,]+(?:\.\d+)?)\s*(?:a|per|/)?\s*(week|wk|year|yr|annum|month)?\s*$", re.I)
_PERCENT = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*%\s*$")


class CouncilError(ValueError):
    """The council file cannot be used; the message is one line naming the field."""


@dataclass
class CouncilInputs:
    path: Path
    name: str
    sections: dict[str, Any]                       # costs / capacity / edge_of_care, as the parameters name them
    investment: dict[str, float] = field(default_factory=dict)   # £ by financial year
    levers: list[dict] = field(default_factory=list)             # lever targets, as scenario files write them
    description: str = ""


def _expects(path: tuple[str, ...]) -> str:
    """What unit a field takes, from its name."""
    last = path[-1]
    if "weekly" in last or (len(path) >= 2 and path[-2] == "placement_weekly") or (
            len(path) >= 2 and path[-2] == "social_work_weekly"):
        return "week"
    if (last.endswith("_per_year") and ("growth" in last or "rate" in last)) or (
            len(path) >= 2 and path[-2] == "price_growth_by_type"):
        return "rate"          # a fraction a year (0.05 for 5%); a count a year (joiners_per_year) is a number
    return "number"


def _value(v, path: tuple[str, ...], source: str):
    """A council's value in the parameters' unit, or a CouncilError naming the field."""
    where = f"{source}: {'.'.join(path)}"
    kind = _expects(path)
    if isinstance(v, dict):
        return {k: _value(x, path + (str(k),), source) for k, x in v.items()}
    if isinstance(v, list):
        return [_value(x, path + (str(i),), source) if not isinstance(x, dict) else
                {k: _value(y, path + (str(i), str(k)), source) for k, y in x.items()} for i, x in enumerate(v)]
    if isinstance(v, bool) or v is None:
        return v
    if isinstance(v, str):
        if kind == "rate":
            m = _PERCENT.match(v)
            if m:
                return float(m.group(1)) / 100
            raise CouncilError(f"{where}: {v!r} is not a rate; write 0.05 or \"5%\" for 5% a year")
        m = _MONEY.match(v)
        if m is None:
            if path[-1] in ("date",) or re.match(r"^\d{4}-\d{2}-\d{2}$", v):
                return v
            raise CouncilError(f"{where}: {v!r} is not a number (write e.g. 4500 or \"£4,500 a week\")")
        number, unit = float(m.group(1).replace(",", "")), (m.group(2) or "").lower()
        if kind == "week" and unit and unit not in ("week", "wk"):
            raise CouncilError(f"{where}: {v!r} is £ a {unit}, but this value is £ a week "
                               f"({'divide a yearly cost by 52.18' if unit in ('year', 'yr', 'annum') else 'multiply a monthly cost by 12 and divide by 52.18'})")
        if kind != "week" and unit:
            raise CouncilError(f"{where}: {v!r} has a unit ({unit}) where a plain number is expected")
        return number
    if kind == "rate" and isinstance(v, (int, float)) and abs(v) >= 1:
        raise CouncilError(f"{where}: {v} a year looks like a percentage; write {v / 100:g} (or \"{v:g}%\") for {v:g}% a year")
    if kind == "week" and isinstance(v, (int, float)) and v > 50_000:
        raise CouncilError(f"{where}: £{v:,.0f} a week is implausible: is it a yearly cost? (£ a week is expected)")
    return v


def load_council(path: str | Path) -> CouncilInputs:
    """Read and check a council inputs file (CouncilError: one line naming the field)."""
    path = Path(path)
    data = read_yaml_mapping(path, "council inputs file", CouncilError)
    unknown = [k for k in data if k not in TOP_LEVEL]
    if unknown:
        raise CouncilError(f"{path}: unknown section '{unknown[0]}' (the sections are: {', '.join(TOP_LEVEL)})")
    for req in REQUIRED:
        node = data
        for k in req:
            if not isinstance(node, dict) or node.get(k) is None:
                raise CouncilError(f"{path}: {'.'.join(req)} is required (the council's own figure: the template's "
                                   "describes another council)")
            node = node[k]
    council = data["council"]
    extra = [k for k in council if k not in ("name", "description")]
    if extra:
        raise CouncilError(f"{path}: council.{extra[0]}: unknown field (council takes name and description)")
    sections = {s: _value(data[s], (s,), str(path)) for s in SECTIONS if data.get(s) is not None}
    investment = data.get("investment") or {}
    if not isinstance(investment, dict):
        raise CouncilError(f"{path}: investment: expected £ by financial year, e.g. {{\"2025/26\": 500000}}")
    inv = {}
    for fy, amount in investment.items():
        if not re.match(r"^\d{4}/\d{2}$", str(fy)):
            raise CouncilError(f"{path}: investment.{fy}: not a financial year (write e.g. \"2025/26\")")
        v = _value(amount, ("investment", str(fy)), str(path))
        if not isinstance(v, (int, float)) or v < 0:
            raise CouncilError(f"{path}: investment.{fy}: expected £ (a number of 0 or more), got {amount!r}")
        inv[str(fy)] = float(v)
    levers = data.get("levers") or []
    if not isinstance(levers, list):
        raise CouncilError(f"{path}: levers: expected a list of levers as scenario files write them")
    return CouncilInputs(path, str(council["name"]), sections, inv, levers, str(council.get("description", "")))


def _merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else copy.deepcopy(v)
    return out


def _leaves(d, prefix=()) -> list[tuple[str, ...]]:
    if isinstance(d, dict) and d:
        return [p for k, v in d.items() for p in _leaves(v, prefix + (str(k),))]
    return [prefix]


def apply_council(params: Params, council: CouncilInputs) -> Params:
    """The parameters with the council's sections laid over them (checked as any parameter file is)."""
    d = params.model_dump(mode="json")
    for s, v in council.sections.items():
        d[s] = _merge(d.get(s) or {}, v)
    d["name"] = council.name
    try:
        return params_from_dict(d, str(council.path))
    except ParamsError as exc:
        raise CouncilError(str(exc)) from None


def provenance(template: Params, council: CouncilInputs) -> dict[str, list[str]]:
    """For the council-owned sections: which values the council gave, and which it left to the
    template (by the parameters' dotted names)."""
    t = template.model_dump(mode="json")
    given = {".".join(p) for s, v in council.sections.items() for p in _leaves(v, (s,))}
    inherited = [".".join(p) for s in SECTIONS for p in _leaves(t.get(s), (s,)) if ".".join(p) not in given
                 and not any(".".join(p).startswith(g + ".") for g in given)]
    return {"council": sorted(given), "inherited": inherited}


TEMPLATE_HEAD = """\
# carepath council inputs: what your council knows that its activity data (SSDA903, CIN census,
# contacts) do not carry. `carepath refresh --council THIS_FILE ...` lays these values over the
# parameters fitted from your data. Anything you leave out (delete the line, or leave the section
# out) is taken from the template parameter set, the Nottingham-like baseline shipped with
# carepath, and every such value is listed on screen and in the refresh's index.html.
#
# Money: a number in £, or with its unit, e.g. 4500 or "£4,500 a week". Weekly costs must be
# weekly: "£234,000 a year" is refused. Growth rates a year: 0.05 or "5%" (not 5).
# The values below are the template's: replace them with your council's.

council:
  name: My council                  # required
  description: ""

"""


def template_text(template: Params) -> str:
    """A commented council inputs file for `init-council`: the required values empty (the file
    is refused until they are filled in), every other value the template's, commented out
    (uncomment and edit a line to set it; what stays commented is inherited, and listed)."""
    import yaml

    t = template.model_dump(mode="json")
    parts = [TEMPLATE_HEAD]
    notes = {
        "costs": "# £ a week by placement type and by stage of social work, allowances, price growth a year",
        "capacity": "# in-house foster carers, beds and places, teams of social workers and their caseload limits",
        "edge_of_care": "# the edge-of-care service: the share of children heading into care it is offered to, and its success",
    }
    required = {s: [r[1:] for r in REQUIRED if r[0] == s] for s in SECTIONS}
    for s in SECTIONS:
        parts.append(notes[s] + "\n")
        if required[s]:
            req: dict = {}
            for path in required[s]:
                node = req
                for k in path[:-1]:
                    node = node.setdefault(k, {})
                node[path[-1]] = None
            text = yaml.safe_dump({s: req}, sort_keys=False, width=100).replace(": null", ":   # REQUIRED: your council's number")
            parts.append(text)
            parts.append(f"  # the template's values for the rest of {s} (uncomment to set; keep one {s}: and one of each key)\n")
        else:
            parts.append(f"# {s}:   (uncomment this line and the ones you set)\n")
        body = yaml.safe_dump(t[s], sort_keys=False, width=100)
        parts.append("".join(f"  # {line}\n" for line in body.splitlines()))
        parts.append("\n")
    parts.append("# the programme's investment, £ by financial year (for the business case)\n"
                 "investment: {}\n\n"
                 "# the council's levers, as scenario files write them (see docs/business_case.md), e.g.\n"
                 "#  - {lever: edge_of_care, start: 2025-04-01, ramp_months: 24, target: {fewer_care_entries_per_year: 20}}\n"
                 "levers: []\n")
    return "".join(parts)
