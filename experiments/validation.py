"""The model against the council's published figures and England statistics (docs/validation.md).

The targets are data (`validation_targets.yaml` beside this module: council paper 003 and national
statistics). Nothing here tunes anything: it runs the baseline as shipped and reports each gap, in or out of tolerance.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd
import yaml

from sim.replications import run_replications
from sim.measures import CP_LENGTH_BINS, ENTRY_AGE_BANDS

from .intervals import mean_ci

TARGETS_FILE = Path(__file__).resolve().parent / "validation_targets.yaml"
# where exits come from, as derived percentages: (measure, its part, its whole), from summary_by_fy
EXIT_ORIGINS = (("sgo_from_kinship_pct", "care_exits_sgo_from_kinship", "care_exits_sgo"),
                ("adoption_entered_under_5_pct", "care_exits_adoption_entered_under_5", "care_exits_adoption"))
# the hand-written part of docs/validation.md starts at this line; `keep_written_by_hand` carries it over
HAND_WRITTEN = "<!-- Written by hand from here on: carepath validate keeps this part when it writes the file again. -->"


@dataclass(frozen=True)
class Target:
    label: str
    measure: str           # summary_by_fy measure, or a derived one (see _derived)
    financial_year: str
    target: float
    tolerance: float       # relative, e.g. 0.05 for ±5%; absolute if `absolute`
    source: str
    absolute: bool = False
    fmt: str = "{:,.1f}"


class TargetsError(ValueError):
    """The targets file cannot be used; the message is one plain line."""


def load_targets(path: Optional[Path] = None) -> tuple[tuple[Target, ...], tuple[tuple[str, str], ...]]:
    """The published figures (and the open contacts the council reported) from YAML; the
    shipped `validation_targets.yaml` unless another file is given."""
    path = Path(path) if path else TARGETS_FILE
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        targets = [Target(**t) for t in doc["targets"]]
        cp = doc["cp_plan_lengths"]
        if len(cp["bins"]) != len(CP_LENGTH_BINS):
            raise ValueError(f"cp_plan_lengths needs {len(CP_LENGTH_BINS)} bins, got {len(cp['bins'])}")
        targets += [Target(f"CP plans ending after {b['label']}, % of plans ending", name + "_pct",
                           cp["financial_year"], float(b["target"]), float(cp["tolerance_points"]), cp["source"],
                           absolute=True, fmt="{:.1f}%")
                    for (name, _, _), b in zip(CP_LENGTH_BINS, cp["bins"])]
        ages = doc.get("entry_ages")
        if ages is not None:
            if len(ages["bins"]) != len(ENTRY_AGE_BANDS):
                raise ValueError(f"entry_ages needs {len(ENTRY_AGE_BANDS)} bins, got {len(ages['bins'])}")
            targets += [Target(f"Care entries aged {b['label']}, % of entries", name + "_pct",
                               ages["financial_year"], float(b["target"]), float(ages["tolerance_points"]),
                               ages["source"], absolute=True, fmt="{:.1f}%")
                        for (name, _, _), b in zip(ENTRY_AGE_BANDS, ages["bins"])]
        contacts = tuple((str(c["month"]), str(c["reported"])) for c in doc.get("open_contacts", []))
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError) as exc:
        raise TargetsError(f"{path}: not a usable validation targets file ({type(exc).__name__}: {exc})") from None
    return tuple(targets), contacts


def _derived(summary: pd.DataFrame) -> pd.DataFrame:
    """Per replication: growth of children in care and percentages from shares."""
    wide = summary.pivot_table(index=["replication", "financial_year"], columns="measure", values="value")
    rows = []
    years = sorted(summary["financial_year"].unique())
    for rep, g in wide.groupby(level=0):
        g = g.droplevel(0)
        first, last = years[0], years[-1]
        n = len(years) - 1
        if n > 0:
            growth = ((g.loc[last, "cic_average"] / g.loc[first, "cic_average"]) ** (1 / n) - 1) * 100
            rows.append((rep, last, "cic_growth", growth))
        for fy in years:
            rows.append((rep, fy, "rereferral_pct", g.loc[fy, "rereferral_rate"] * 100))
            for pct, part, whole in EXIT_ORIGINS:
                if part in g.columns and whole in g.columns and g.loc[fy, whole]:
                    rows.append((rep, fy, pct, g.loc[fy, part] / g.loc[fy, whole] * 100))
            if "cp_plan_starts_repeat_share" in g.columns:
                rows.append((rep, fy, "cp_plan_starts_repeat_pct", g.loc[fy, "cp_plan_starts_repeat_share"] * 100))
            for name, _, _ in ENTRY_AGE_BANDS:
                if name in g.columns and g.loc[fy, "care_entries"]:
                    rows.append((rep, fy, name + "_pct", g.loc[fy, name] / g.loc[fy, "care_entries"] * 100))
            for name, _, _ in CP_LENGTH_BINS:
                rows.append((rep, fy, name + "_pct", g.loc[fy, name] * 100))
    return pd.concat([summary, pd.DataFrame(rows, columns=summary.columns)], ignore_index=True)


def compare(summary: pd.DataFrame, targets: Optional[tuple[Target, ...]] = None) -> pd.DataFrame:
    """Target, model mean and 95% confidence interval of the mean (t, across replications)."""
    if targets is None:
        targets = load_targets()[0]
    s = _derived(summary)
    out = []
    for t in targets:
        v = s[(s["measure"] == t.measure) & (s["financial_year"] == t.financial_year)]["value"].dropna().to_numpy()
        mean, low, high = mean_ci(v)
        gap = mean - t.target
        tol = t.tolerance if t.absolute else t.tolerance * t.target
        out.append({
            "measure": t.label, "financial_year": t.financial_year, "target": t.target, "model_mean": mean,
            "low": low, "high": high, "gap": gap,
            "gap_pct": 100 * gap / t.target if t.target else np.nan,
            "tolerance": tol, "within": bool(abs(gap) <= tol), "source": t.source, "fmt": t.fmt,
            "absolute": t.absolute,
        })
    return pd.DataFrame(out)


def open_contacts_table(stocks: pd.DataFrame, points: Optional[tuple[tuple[str, str], ...]] = None) -> pd.DataFrame:
    """The front door's open contacts at the months the council reported them."""
    if points is None:
        points = load_targets()[1]
    c = stocks[stocks["measure"] == "contact"]
    rows = []
    for month, reported in points:
        v = c[c["month"] == month]["value"]
        rows.append({"month": month, "reported": reported, "model_mean": v.mean(), "model_max": v.max()})
    return pd.DataFrame(rows)


EXPLANATIONS = """\
## Reading the gaps

- **Children in care and placement cost (2021/22).** The default parameters were set, in plain
  sight in `experiments/baseline.yaml`, from the council's published figures where they exist and
  from labelled assumptions elsewhere; these two are the figures the defaults were chosen to meet.
  The model's interval is the uncertainty of its mean over the replications, not of the
  council's figure (which is itself a P6 forecast).
- **Placements over £4,100 a week.** The model counts spot residential placements at the
  council's share above £4,100 (42.9 of 89 external placements). Fewer spot placements than the
  council's 89 external ones (block beds and in-house homes absorb some) puts the model below
  the target; the tolerance of ±25% reflects that SSDA903 cannot tell block from spot.
- **Growth.** No growth rate is imposed on children in care: growth comes from demand growth
  (2.5% a year in contacts, an assumption), a fixed in-house fostering and residential capacity
  (so growth goes to agency and spot placements, which last as long) and ageing of the caseload.
  The council assumed 3% a year.
- **CP plans ending by length.** The CP plan route durations were fitted to the England 2020
  distribution; the model's shares differ where the route mix does (plans ending at 18, repeat
  plans), within a few points.
- **Re-referrals.** Come from children returning to the front door after a closure, and from
  children coming back into a repeat plan; their probabilities are assumptions chosen near
  England's 22.4%.
- **Repeat CP plans.** Children whose CP plan ended (closed, or stepped down to a CIN plan that
  closed) come back into a repeat CP plan with a chance (`repeat_plans.cp`, 0.33, after a median
  of 270 days) that is an assumption set near England's 23-24% of CP plans started being a second
  or subsequent plan. Judged in 2023/24 (England's year): in 2021/22 the share is lower (about
  19%), because the starting caseload holds only children closed in the last two years, so a
  child whose earlier plan ended longer ago has not yet come back.
- **Age on entering care.** The model has about 5% of entries under 1 against England's 16%, and
  more at 1 to 15 (the shares must add up). Every contact is about a child already born, and a baby reaches care only
  after an assessment and usually a plan (months), so the pre-birth assessments and proceedings
  at birth that bring most of England's under-1s into care are missing: a structural gap, not a
  parameter to tune (`arrivals.age_at_contact` is an assumption shaped on the CIN age profile;
  no source gives the ages of contacts about children who later enter care). England's 16 and
  over (29%) includes unaccompanied asylum-seeking children, whom the council's figures and the
  model exclude, so the model's lower share there (about 16%) is expected. The under-1 gap matters
  for adoption and for the cost of the youngest children; a council calibrating from SSDA903 gets
  its own ages of entry for direct entries, not for entries through the front door.
- **Front door backlog.** The council reported over 1,000 open contacts in January 2022, 603 in
  June and 196 in October 2022 after 8 extra MASH social workers. The default front door is
  staffed to keep up (a few days' work in hand), so the baseline shows a normal workload of open
  contacts, not the backlog. The front-door scenario (`experiments/front_door_2022.yaml`: the
  baseline with the MASH's vacancies of 2021/22, agency cover from February 2022 and the 8 extra
  posts, labelled assumptions) is set beside the council's figures in the hand-written section
  at the end of this page.
- **Where SGOs and adoptions come from.** With the exit route drawn at entry to care
  (`care.exit_routes`, the default), a child keeps the route of the placement they entered:
  children who entered kinship care and moved on still leave on an SGO from foster care or a
  children's home, so fewer SGOs leave from kinship care than England's 89% made to relatives or
  friends. Exits as competing hazards by the current placement (`care.exit_hazards`; shipped as
  `experiments/baseline_exit_hazards.yaml`) tie SGOs to kinship care and adoption to young
  children in foster care (docs/model.md, exits from care). Adoption is a route only for children
  entering care under 5 in the exit routes, so there every adoption is of a child who entered
  under 5; with the hazards a few children who entered at 5 or over are adopted, as in England.
"""


def keep_written_by_hand(text: str, out: Path) -> str:
    """The new report with the hand-written part of the file it replaces (from `HAND_WRITTEN` on),
    so regenerating the table does not lose a section written from another run."""
    try:
        old = Path(out).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return text
    at = old.find(HAND_WRITTEN)
    return text if at < 0 else text.rstrip("\n") + "\n\n" + old[at:]


def render(table: pd.DataFrame, contacts: pd.DataFrame, replications: int, seed: int, params_hash: str,
           params_path: str) -> str:
    lines = [
        "# Validation: the baseline against published figures",
        "",
        f"Generated by `carepath validate` on {dt.date.today().isoformat()} from `{params_path}` "
        f"(parameters hash `{params_hash}`), {replications} replications, seed {seed}. "
        "Model mean with the 95% confidence interval of the mean across replications (t distribution). "
        "Re-run with `make validate`; do not edit the table by hand (a part written by hand after the "
        "marker at the end is kept).",
        "",
        "| measure | year | target | model mean | 95% interval | gap | within tolerance | source |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in table.itertuples():
        f = r.fmt.format
        tol = f(r.tolerance) if r.absolute else f"±{100 * r.tolerance / r.target:.0f}%"
        if np.isnan(r.model_mean):  # the run does not reach the year (or holds no such case)
            lines.append(f"| {r.measure} | {r.financial_year} | {f(r.target)} | not in this run (its years do not "
                         f"cover {r.financial_year}) | – | – | – (tolerance {tol}) | {r.source} |")
            continue
        interval = f"{f(r.low)} to {f(r.high)}" if not np.isnan(r.low) else "– (one replication)"
        gap = f"{r.gap:+.1f} pts" if r.absolute else f"{r.gap_pct:+.1f}%"
        lines.append(f"| {r.measure} | {r.financial_year} | {f(r.target)} | {f(r.model_mean)} | "
                     f"{interval} | {gap} | {'yes' if r.within else 'NO'} (tolerance {tol}) | {r.source} |")
    lines += ["", "## Front door: open contacts", "",
              "| month end | council reported | model mean | model highest replication |", "|---|---|---|---|"]
    for r in contacts.itertuples():
        if np.isnan(r.model_mean):
            lines.append(f"| {r.month} | {r.reported} | not in this run | – |")
            continue
        lines.append(f"| {r.month} | {r.reported} | {r.model_mean:,.0f} | {r.model_max:,.0f} |")
    lines += ["", EXPLANATIONS]
    return "\n".join(lines)


def validation_report(params, snapshot, seed, replications, workers, progress=True, params_path=None,
                      backend=None, targets_file: Optional[Path] = None) -> str:
    """Run the baseline and return the Markdown table of model against published figures."""
    targets, contacts = load_targets(targets_file)
    outs = run_replications(params, seed, replications, snapshot, workers=workers,
                            keep_events=lambda r: False, progress=progress, backend=backend)
    summary = pd.concat([o.summary for o in outs], ignore_index=True)
    stocks = pd.concat([o.stocks for o in outs], ignore_index=True)
    table = compare(summary, targets)
    return render(table, open_contacts_table(stocks, contacts), replications, seed, params.digest(), str(params_path))
