"""The public model API: `sim.__all__` resolves, and the ten-line example of docs/api.md runs as
written and gives what the lever means (more in-house foster carers, same children arriving)."""
from __future__ import annotations

import os
import re
from pathlib import Path

import sim

REPO = Path(__file__).resolve().parents[2]


def test_every_public_name_resolves():
    assert "run_replication" in sim.__all__ and "summary_by_fy" in sim.__all__
    for name in sim.__all__:
        assert getattr(sim, name) is not None
    assert set(sim.__all__) <= set(dir(sim))
    assert set(sim.__all__) == set(sim._API) | {"__version__"}


def test_an_unknown_name_is_an_attribute_error():
    try:
        sim.run_replicaton  # noqa: B018 - the typo is the point
    except AttributeError as exc:
        assert "run_replicaton" in str(exc)
    else:
        raise AssertionError("a mistyped name resolved")


def test_the_documented_example_runs(monkeypatch):
    text = (REPO / "docs" / "api.md").read_text(encoding="utf-8")
    code = re.search(r"## Ten lines.*?```python\n(.*?)```", text, re.S).group(1)
    assert len([ln for ln in code.splitlines() if ln.strip()]) <= 12
    monkeypatch.chdir(REPO)
    ns: dict = {}
    exec(compile(code, "docs/api.md", "exec"), ns)  # noqa: S102 - our own documentation
    table = ns["table"]
    assert set(table["scenario"]) == {"baseline", "carers"} and table["replication"].nunique() == 4
    wide = table.pivot_table(index=["replication", "financial_year"], columns=["scenario", "measure"], values="value")
    # the same children arrive in both scenarios (common random numbers) ...
    assert (wide[("carers", "contacts")] == wide[("baseline", "contacts")]).all()
    # ... and by 2029/30 the council has more foster carers in every replication
    last = wide.xs("2029/30", level="financial_year")
    assert (last[("carers", "foster_carers_at_year_end")] > last[("baseline", "foster_carers_at_year_end")]).all()
    assert os.getcwd() == str(REPO)
