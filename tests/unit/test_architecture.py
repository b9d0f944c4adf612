"""The layout holds: imports run one way (carepath -> experiments, calibration -> sim), no
cycles, no argparse below the command layer, no guards hiding the project's own imports, one
version, and carepath notices when a package it imports is not its own."""
from __future__ import annotations

import ast
import importlib.metadata
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LAYER = {"sim": 0, "calibration": 1, "experiments": 1, "carepath": 2}


def _modules() -> dict[str, Path]:
    mods = {}
    for top in LAYER:
        for f in (REPO / top).rglob("*.py"):
            if "example_data" in f.parts:
                continue
            name = ".".join(f.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
            mods[name] = f
    return mods


MODULES = _modules()


def _imports(name: str, f: Path) -> list[tuple[str, ast.AST]]:
    """Every project module `name` imports, at the top or inside a function, with its node."""
    out = []
    package = name if f.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"), str(f))):
        if isinstance(node, ast.Import):
            out += [(a.name, node) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            out.append((base, node))
            out += [(f"{base}.{a.name}", node) for a in node.names]
    return [(t, n) for t, n in out if t in MODULES or t.split(".")[0] in LAYER and t in MODULES]


def _graph() -> dict[str, set[str]]:
    return {m: {t for t, _ in _imports(m, f)} - {m} for m, f in MODULES.items()}


def test_the_walk_finds_every_layer():
    assert {m.split(".")[0] for m in MODULES} == set(LAYER)
    assert "carepath.cli" in MODULES and "sim.pathway" in MODULES
    # the walk sees imports inside functions too
    assert "experiments.validation" in _graph()["carepath.commands.validate"]


def test_no_module_imports_from_a_layer_above_it():
    upward = [(a, b) for a, bs in _graph().items() for b in bs if LAYER[b.split(".")[0]] > LAYER[a.split(".")[0]]]
    assert not upward, f"imports that point up the layers: {upward}"


def test_calibration_and_experiments_do_not_import_each_other():
    across = [(a, b) for a, bs in _graph().items() for b in bs
              if {a.split(".")[0], b.split(".")[0]} == {"calibration", "experiments"}]
    assert not across, across


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c"]]


def test_no_import_cycles():
    # a package's __init__ importing its own submodules is not a cycle between modules
    graph = {m: {t for t in ts if not (m == t.rpartition(".")[0] and MODULES[m].name == "__init__.py")}
             for m, ts in _graph().items()}
    assert not _cycles(graph)


def test_no_argparse_below_the_command_layer():
    users = [m for m, f in MODULES.items() if not m.startswith("carepath")
             and any(isinstance(n, (ast.Import, ast.ImportFrom))
                     and ("argparse" in [a.name for a in getattr(n, "names", [])] or getattr(n, "module", None) == "argparse")
                     for n in ast.walk(ast.parse(f.read_text(encoding="utf-8"))))]
    assert not users, f"argparse used below carepath/: {users}"


def test_no_import_error_guard_around_the_projects_own_modules():
    guarded = []
    for m, f in MODULES.items():
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Try):
                continue
            catches = {getattr(h.type, "id", None) for h in node.handlers}
            if not catches & {"ImportError", "ModuleNotFoundError"}:
                continue
            for inner in node.body:
                for n in ast.walk(inner):
                    if isinstance(n, ast.ImportFrom) and (n.level or (n.module or "").split(".")[0] in LAYER):
                        guarded.append((m, n.module))
                    if isinstance(n, ast.Import) and any(a.name.split(".")[0] in LAYER for a in n.names):
                        guarded.append((m, n.names[0].name))
    assert not guarded, guarded


def test_the_model_package_writes_no_files_and_draws_nothing():
    """sim/ reads its inputs; writing and plotting are the application's (carepath/)."""
    bad = []
    for m, f in MODULES.items():
        if not m.startswith("sim"):
            continue
        tree = ast.parse(f.read_text(encoding="utf-8"))
        for n in ast.walk(tree):
            if isinstance(n, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in n.names] + [getattr(n, "module", None) or ""]
                if any(x.startswith("matplotlib") or x == "argparse" for x in names):
                    bad.append((m, "imports " + ", ".join(names)))
            if isinstance(n, ast.Attribute) and n.attr in ("to_csv", "write_text", "write_bytes", "savefig"):
                bad.append((m, n.attr))
    assert not bad, bad


def test_one_version_for_the_distribution():
    import carepath
    import sim

    assert carepath.__version__ == sim.__version__ == importlib.metadata.version("carepath")


def test_carepath_version_names_the_model_core():
    r = subprocess.run([sys.executable, "-m", "carepath", "--version"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    import carepath
    import sim.core

    assert r.stdout.startswith(f"carepath {carepath.__version__} (model core: ")
    assert sim.core.kind() in r.stdout


def test_own_packages_are_recognised():
    from carepath import check_own_packages

    assert check_own_packages() is None


@pytest.mark.parametrize("name", ["sim", "experiments", "calibration"])
def test_a_foreign_package_of_the_same_name_is_named_plainly(name, tmp_path):
    (tmp_path / name).mkdir()
    (tmp_path / name / "__init__.py").write_text('"""someone else\'s package"""\n')
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    r = subprocess.run([sys.executable, "-c", "import sys; from carepath.cli import main; sys.exit(main(['--version']))"],
                       capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and f"'{name}'" in lines[0] and "not carepath's own" in lines[0], r.stderr
