"""Build the compiled model core (optional; the plain Python source gives the same results).

The modules in `sim.core.COMPILED` are compiled with Cython from their own `.py` source, with the
C types declared beside them in `.pxd` files. The build is optional: with no C compiler or no
Cython it is skipped, with a warning, and carepath runs the Python source. `sim.core` records
the hash of the source each extension was built from and uses the Python source whenever a
module has been edited since (see `sim/core.py`).
"""
import json
import os
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("CAREPATH_PURE_PYTHON", "1")  # no checks of an older build while building
from sim.core import COMPILED, MANIFEST, source_hashes  # noqa: E402


class OptionalBuildExt(build_ext):
    """Build what can be built; a failed build leaves the Python source in use, with a warning."""

    def finalize_options(self):
        super().finalize_options()
        if self.parallel is None:
            self.parallel = os.cpu_count() or 1

    def run(self):
        try:
            super().run()
        except Exception as e:  # no compiler: the Python source is used
            print(f"warning: carepath's compiled core was not built ({e}); the Python source will be used", file=sys.stderr)
            return
        # the source the extensions came from, for `sim.core` to tell an out-of-date build
        (ROOT / "sim" / MANIFEST).write_text(json.dumps(source_hashes(ROOT / "sim"), indent=1, sort_keys=True) + "\n")


def extensions():
    try:
        from Cython.Build import cythonize
    except ImportError:
        print("warning: Cython is not installed; carepath's compiled core is not built", file=sys.stderr)
        return []
    return cythonize([f"sim/{m}.py" for m in COMPILED], language_level=3, quiet=True,
                     compiler_directives={"binding": True, "annotation_typing": False})


setup(ext_modules=extensions(), cmdclass={"build_ext": OptionalBuildExt})
