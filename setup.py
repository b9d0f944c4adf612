"""Build the compiled model core (optional; the plain Python source gives the same results).

The modules in `sim.core.COMPILED` are compiled with Cython from their own `.py` source, with the
C types declared beside them in `.pxd` files. The build is optional: with no C compiler or no
Cython it is skipped, with a warning, and carepath runs the Python source. The hash of
the source is taken *before* Cython reads it (and Cython is made to read it afresh), so an edit
during or after the build shows as a stale build, and `sim.core` then uses the Python source
(see `sim/core.py`). The record goes beside the sources and into the build, so a plain
`pip install .` ships it; without the compiled modules it means nothing.
"""
import json
import os
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("CAREPATH_PURE_PYTHON", "1")  # no checks of an older build while building
from sim.core import COMPILED, MANIFEST, source_hashes  # noqa: E402


class OptionalBuildExt(build_ext):
    """Cythonize and build what can be built; a failed build leaves the Python source in use,
    with a warning. Cython runs here, not when setup.py is read, so only a build pays for it."""

    def finalize_options(self):
        super().finalize_options()
        if self.parallel is None:
            self.parallel = os.cpu_count() or 1

    def run(self):
        try:
            from Cython.Build import cythonize
        except ImportError:
            print("warning: Cython is not installed; carepath's compiled core is not built", file=sys.stderr)
            return
        # the source the extensions come from, for `sim.core` to tell an out-of-date build
        record = json.dumps(source_hashes(ROOT / "sim"), indent=1, sort_keys=True) + "\n"
        for folder in {ROOT / "sim", Path(self.build_lib) / "sim"}:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / MANIFEST).write_text(record)
        try:
            cythonize([str(ROOT / "sim" / f"{m}.py") for m in COMPILED], language_level=3, quiet=True, force=True,
                      compiler_directives={"binding": True, "annotation_typing": False})  # writes sim/*.c
            for ext in self.extensions:
                ext.sources = [src[:-3] + ".c" if src.endswith(".py") else src for src in ext.sources]
                ext.extra_compile_args.append("-ffp-contract=off")  # no fused multiply-add: C rounds as Python does
            super().run()
        except Exception as e:  # no compiler: the Python source is used
            print(f"warning: carepath's compiled core was not built ({e}); the Python source will be used", file=sys.stderr)


setup(ext_modules=[Extension(f"sim.{m}", [f"sim/{m}.py"]) for m in COMPILED], cmdclass={"build_ext": OptionalBuildExt})
