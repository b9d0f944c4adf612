"""carepath: the application shell (command line, output files, charts, reports) above the
model (`sim`), calibration (`calibration`) and analyses over replications (`experiments`).

Imports run one way: carepath -> experiments, calibration -> sim.
"""
from __future__ import annotations

import importlib
from pathlib import Path

__version__ = "0.1.0"  # the same as sim.__version__ and pyproject.toml (tested)
OWN_PACKAGES = ("sim", "calibration", "experiments")


def check_own_packages() -> str | None:
    """None if `sim`, `calibration` and `experiments` are carepath's own, else what is wrong.

    A plain `pip install carepath` puts packages with these generic names into site-packages;
    another distribution may have one of the same name. Each of carepath's carries
    `__carepath__ = True` and sits in the same folder as `carepath` itself."""
    home = Path(__file__).resolve().parent.parent
    for name in OWN_PACKAGES:
        try:
            mod = importlib.import_module(name)
        except ImportError as exc:
            return (f"carepath's package '{name}' cannot be imported ({exc}); reinstall carepath "
                    "(`make setup`, or `pip install -e .` in its folder)")
        where = Path(getattr(mod, "__file__", "") or "?").resolve().parent
        if not getattr(mod, "__carepath__", False) or where.parent != home:
            return (f"the Python package '{name}' imported from {where} is not carepath's own (another "
                    f"installed package uses the same name; carepath's is in {home / name}). Use a separate "
                    "virtual environment for carepath, or uninstall the other package")
    return None
