"""Each compiled module's `.pxd` declares the attributes its `.py` gives its classes.

A class declared `cdef class` in a `.pxd` has a fixed set of C attributes in the compiled build
(`sim/core.py`): assigning any other attribute raises AttributeError there, at run time, while the
Python source runs happily. Cython does not see it when it compiles, so this test reads the
source: for each `cdef class` of a `.pxd`, every `self.X = ...` in the methods of the class of
that name in the `.py` must be declared in the `.pxd` (on the class or a base it declares), and
every attribute declared must be used by the class (no stale declaration). The module-level C
variables a `.pxd` declares must be assigned at module level in the `.py`.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import sim.core as core

SIM = Path(core.__file__).resolve().parent


@dataclass
class PxdClass:
    name: str
    bases: list[str]
    attributes: dict[str, int] = field(default_factory=dict)  # name: line


@dataclass
class Pxd:
    classes: dict[str, PxdClass] = field(default_factory=dict)
    variables: dict[str, int] = field(default_factory=dict)  # module-level C variables: name: line


def _split_top(text: str, sep: str = ",") -> list[str]:
    """Split at `sep` outside brackets (a memoryview type, `double[:, ::1]`, holds commas)."""
    parts, depth, cur = [], 0, []
    for ch in text:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == sep and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return [p.strip() for p in parts]


_NAME_AT_END = re.compile(r"([A-Za-z_]\w*)\s*(\[[^\]]*\])?$")  # `name` or a C array `name[32]`
_C_TYPE_WORDS = {"unsigned", "signed", "long", "short", "int", "char", "double", "float", "bint",
                 "object", "str", "list", "dict", "tuple", "set", "bytes", "Py_ssize_t", "size_t"}


def _names_declared(decl: str) -> list[str]:
    """The names a `cdef [public|readonly] TYPE a, b[3], c` line declares (without `cdef`)."""
    decl = re.sub(r"^(public|readonly)\s+", "", decl.strip())
    names = []
    for i, part in enumerate(_split_top(decl)):
        m = _NAME_AT_END.search(part)
        if m is None or (i == 0 and part[:m.start()].strip() == ""):
            raise ValueError(f"cannot read the declaration {decl!r}")
        names.append(m.group(1))
    return names


def _logical_lines(text: str):
    """(line number, indented text) of each statement, comments dropped, bracketed
    continuations joined."""
    buf, start, depth = [], 0, 0
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].rstrip()
        if not line.strip() and not buf:
            continue
        if not buf:
            start = n
        buf.append(line if not buf else " " + line.strip())
        depth += sum(line.count(c) for c in "([{") - sum(line.count(c) for c in ")]}")
        if depth <= 0:
            yield start, "".join(buf)
            buf, depth = [], 0


def parse_pxd(text: str) -> Pxd:
    """The cdef classes of a `.pxd`, with the attributes each declares, and its module-level C
    variables. Methods (`cdef`/`cpdef` with an argument list) and decorators are skipped."""
    out = Pxd()
    current = None
    for n, line in _logical_lines(text):
        indented = line[:1].isspace()
        s = line.strip()
        if not indented:
            current = None
        m = re.match(r"cdef\s+class\s+(\w+)\s*(?:\(([^)]*)\))?\s*:$", s)
        if m and not indented:
            current = PxdClass(m.group(1), [b.strip().split(".")[-1] for b in (m.group(2) or "").split(",") if b.strip()])
            out.classes[current.name] = current
            continue
        if s.startswith(("@", "cimport ", "from ", "ctypedef ", "cdef extern", "cdef enum", "cdef struct")):
            continue
        if s.startswith("cpdef ") or not s.startswith("cdef "):
            continue
        body = s[len("cdef "):]
        if re.search(r"\w\s*\(", body.split("[", 1)[0]):  # a C function or method: `cdef object _choose(...)`
            continue
        names = _names_declared(body)
        if indented and current is not None:
            for name in names:
                current.attributes[name] = n
        elif not indented:
            for name in names:
                out.variables[name] = n
    return out


def _self_targets(target: ast.AST, self_name: str):
    if isinstance(target, (ast.Tuple, ast.List)):
        for t in target.elts:
            yield from _self_targets(t, self_name)
    elif isinstance(target, ast.Starred):
        yield from _self_targets(target.value, self_name)
    elif (isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name)
          and target.value.id == self_name):
        yield target.attr, target.lineno


def assigned_and_used(cls: ast.ClassDef) -> tuple[dict[str, int], set[str]]:
    """`self.X` assigned in the class's methods (X: first line) and every `self.X` used at all,
    plus the names in its `__slots__`."""
    assigned, used = {}, set()
    for node in cls.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__slots__" for t in node.targets):
            used.update(ast.literal_eval(node.value))
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) or not node.args.args:
            continue
        decorators = {d.id for d in node.decorator_list if isinstance(d, ast.Name)}
        if decorators & {"staticmethod", "classmethod"}:
            continue
        self_name = node.args.args[0].arg
        for sub in ast.walk(node):
            targets = []
            if isinstance(sub, ast.Assign):
                targets = sub.targets
            elif isinstance(sub, (ast.AugAssign, ast.AnnAssign)):
                targets = [sub.target]
            elif isinstance(sub, (ast.For, ast.AsyncFor, ast.withitem)):
                targets = [sub.target if not isinstance(sub, ast.withitem) else sub.optional_vars]
            for t in targets:
                if t is None:
                    continue
                for name, line in _self_targets(t, self_name):
                    assigned.setdefault(name, line)
            if isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Name) and sub.value.id == self_name:
                used.add(sub.attr)
    return assigned, used


def module_assignments(tree: ast.Module) -> set[str]:
    names = set()
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else \
            [node.target] if isinstance(node, (ast.AnnAssign, ast.AugAssign)) else []
        for t in targets:
            for sub in ast.walk(t):
                if isinstance(sub, ast.Name):
                    names.add(sub.id)
    return names


def check_module(py_text: str, pxd_text: str, module: str) -> list[str]:
    """Every mismatch between a module's source and its `.pxd`, as plain lines."""
    pxd = parse_pxd(pxd_text)
    tree = ast.parse(py_text)
    classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
    problems = []
    for name, decl in pxd.classes.items():
        cls = classes.get(name)
        if cls is None:
            problems.append(f"sim/{module}.pxd declares cdef class {name}, which sim/{module}.py does not define")
            continue
        declared = dict(decl.attributes)
        for base in decl.bases:  # attributes of a base declared in the same .pxd
            if base in pxd.classes:
                declared.update(pxd.classes[base].attributes)
        assigned, used = assigned_and_used(cls)
        for attr, line in sorted(assigned.items(), key=lambda kv: kv[1]):
            if attr not in declared:
                problems.append(f"sim/{module}.py:{line}: {name}.{attr} is assigned but not declared in "
                                f"sim/{module}.pxd (the compiled build would raise AttributeError)")
        for attr, line in decl.attributes.items():
            if attr not in used:
                problems.append(f"sim/{module}.pxd:{line}: {name}.{attr} is declared but class {name} "
                                f"in sim/{module}.py never uses it")
    at_module = module_assignments(tree)
    for var, line in pxd.variables.items():
        if var not in at_module:
            problems.append(f"sim/{module}.pxd:{line}: C variable {var} is declared but sim/{module}.py "
                            "never assigns it at module level")
    return problems


@pytest.mark.parametrize("module", core.COMPILED)
def test_pxd_declares_what_the_source_assigns(module):
    py, pxd = SIM / f"{module}.py", SIM / f"{module}.pxd"
    assert py.exists(), f"sim/core.py's COMPILED names {module}, but sim/{module}.py is missing"
    if not pxd.exists():
        pytest.skip(f"sim/{module}.py has no .pxd: compiled without C declarations")
    problems = check_module(py.read_text(encoding="utf-8"), pxd.read_text(encoding="utf-8"), module)
    assert not problems, "\n".join(problems)


def test_every_compiled_module_with_classes_has_a_pxd_class_for_them():
    """The check above reads something: each .pxd declares at least one cdef class or variable."""
    for module in core.COMPILED:
        pxd = parse_pxd((SIM / f"{module}.pxd").read_text(encoding="utf-8"))
        assert pxd.classes or pxd.variables, f"sim/{module}.pxd: nothing read"
    child = parse_pxd((SIM / "child.pxd").read_text(encoding="utf-8")).classes["Child"]
    assert {"id", "hash", "dob", "state", "closure", "_draws", "_ahead", "has_ahead"} <= set(child.attributes)


PXD = """\
cimport cython
cdef long A, B
cdef object _f(tuple t, double u)

cdef class Base:
    cdef public double x

cdef class Thing(Base):
    cdef public long long n
    cdef unsigned long long h
    cdef double[:, ::1] rows
    cdef int _c[8]
    cdef public str s, t  # a comment

    @cython.locals(i=Py_ssize_t,
                   j=Py_ssize_t)
    cpdef go(self, double y)
    cdef double _inner(self)
"""

PY = """\
A = 1
B = 2

class Base:
    def __init__(self):
        self.x = 0.0

class Thing(Base):
    def __init__(self):
        super().__init__()
        self.n, self.h = 0, 1
        self.rows = None
        self.s: str = ""
        self.t = ""
        self._c[0] = 1
        self.x += 1.0

    def go(self, y):
        other = object()
        other.anything = 1  # not self: not this class's attribute
        return self.x

    def _inner(self):
        return 0.0
"""


def test_the_checker_reads_declarations_of_every_form():
    pxd = parse_pxd(PXD)
    assert set(pxd.classes) == {"Base", "Thing"} and pxd.classes["Thing"].bases == ["Base"]
    assert list(pxd.classes["Thing"].attributes) == ["n", "h", "rows", "_c", "s", "t"]
    assert set(pxd.variables) == {"A", "B"}
    assert check_module(PY, PXD, "example") == []


def test_the_checker_fails_on_an_undeclared_or_stale_attribute():
    added = PY.replace("        self.t = \"\"\n", "        self.t = \"\"\n        self.extra = 3\n")
    problems = check_module(added, PXD, "example")
    assert len(problems) == 1 and "Thing.extra is assigned but not declared" in problems[0]
    assert "sim/example.py:15" in problems[0]
    in_a_tuple = PY.replace("self.n, self.h = 0, 1", "self.n, self.h, self.k = 0, 1, 2")
    assert ["Thing.k is assigned" in p for p in check_module(in_a_tuple, PXD, "example")] == [True]
    stale = PXD.replace("cdef public str s, t", "cdef public str s, t, gone")
    assert ["Thing.gone is declared but" in p for p in check_module(PY, stale, "example")] == [True]
    no_var = PY.replace("B = 2\n", "")
    assert ["C variable B is declared" in p for p in check_module(no_var, PXD, "example")] == [True]
