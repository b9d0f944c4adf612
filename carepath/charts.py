"""Charts for a council analyst (PNG): children in care by placement type, and CIN / CP / CIC
with 95% bands across replications. Pure functions of the tidy monthly stocks."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from .outputs import write_figure  # noqa: E402

from sim import placements  # noqa: E402

# the labels come from the one table of placement types (sim/placements.py)
GROUP_LABELS = {**placements.GROUP_LABELS, placements.AWAITING: placements.AWAITING_LABEL}
PLACEMENT_LABELS = placements.PLACEMENT_LABELS


def _months(index) -> pd.DatetimeIndex:
    return pd.to_datetime([f"{m}-01" for m in index]) + pd.offsets.MonthEnd(0)


def _save(fig, path: Path) -> Path:
    return write_figure(fig, path, dpi=120)


def plot_placements(stocks: pd.DataFrame, path: Path, title: str = "") -> Path:
    """Stacked area: mean children in care by placement type at each month end."""
    s = stocks[stocks["measure"].str.startswith("care_") & ~stocks["measure"].isin(["care_over_4100"])]
    mean = s.groupby(["month", "measure"])["value"].mean().unstack("measure").fillna(0.0)
    order = [c for c in ["care_" + k for k in PLACEMENT_LABELS] if c in mean.columns and mean[c].max() > 0]
    fig, ax = plt.subplots(figsize=(10, 5.5))
    x = _months(mean.index)
    ax.stackplot(x, [mean[c].to_numpy() for c in order],
                 labels=[PLACEMENT_LABELS[c.removeprefix("care_")] for c in order], alpha=0.85)
    ax.set_ylabel("children in care (month end)")
    ax.set_title(title or "Children in care by placement type (mean of replications)")
    ax.xaxis.set_major_locator(mdates.MonthLocator(bymonth=4))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("Apr %Y"))
    fig.autofmt_xdate()
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9, title="Placement")
    ax.grid(alpha=0.3)
    return _save(fig, path)


def plot_bands(stocks: pd.DataFrame, path: Path, title: str = "") -> Path:
    """CIN plans, CP plans and children in care: mean and the band holding 95% of replications."""
    fig, ax = plt.subplots(figsize=(10, 5.5))
    for measure, label, colour in (("cin", "Child in need plans", "tab:blue"),
                                   ("cp", "Child protection plans", "tab:red"),
                                   ("care", "Children in care", "tab:green")):
        s = stocks[stocks["measure"] == measure].groupby("month")["value"]
        mean, lo, hi = s.mean(), s.quantile(0.025), s.quantile(0.975)
        x = _months(mean.index)
        ax.plot(x, mean.to_numpy(), color=colour, label=label)
        ax.fill_between(x, lo.to_numpy(), hi.to_numpy(), color=colour, alpha=0.2)
    n = stocks["replication"].nunique()
    ax.set_ylabel("children (month end)")
    ax.set_title(title or f"Children on plans and in care: mean, shaded 95% of {n} replications")
    ax.xaxis.set_major_locator(mdates.MonthLocator(bymonth=4))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("Apr %Y"))
    fig.autofmt_xdate()
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper left")
    ax.grid(alpha=0.3)
    return _save(fig, path)
