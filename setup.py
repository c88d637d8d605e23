"""The one compiled part: ``hazmat.routing._cch``, our binding of RoutingKit's CCH (routing/cch/_cch.cpp).

Everything else is declared in pyproject.toml. RoutingKit's sources are vendored in third_party/routingkit
(scripts/vendor_routingkit.sh). OpenMP (RoutingKit's parallel customisation) when the compiler has it,
else a serial customisation; the units compile in parallel on the machine's cores (pybind11's ParallelCompile;
``NPY_NUM_BUILD_JOBS`` sets how many).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pybind11
from pybind11.setup_helpers import ParallelCompile
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROUTINGKIT = Path("third_party/routingkit")
UNITS = [
    "bit_select",
    "bit_vector",
    "contraction_hierarchy",
    "customizable_contraction_hierarchy",
    "geo_position_to_node",
    "graph_util",
    "id_mapper",
    "nested_dissection",
    "strongly_connected_component",
    "timer",
]


def _has_openmp(compiler) -> bool:
    """Whether the compiler builds and links an OpenMP program (g++ without libgomp does not)."""
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "omp.cpp"
        source.write_text("#include <omp.h>\nint main() { return omp_get_max_threads() > 0 ? 0 : 1; }\n")
        try:
            objects = compiler.compile([str(source)], output_dir=tmp, extra_postargs=["-fopenmp"])
            compiler.link_executable(objects, "omp", output_dir=tmp, extra_postargs=["-fopenmp"])
        except Exception:
            return False
    return True


class BuildExt(build_ext):
    def build_extensions(self) -> None:
        openmp = sys.platform != "win32" and _has_openmp(self.compiler)
        for ext in self.extensions:
            if openmp:
                ext.extra_compile_args.append("-fopenmp")
                ext.extra_link_args.append("-fopenmp")
        super().build_extensions()


ParallelCompile("NPY_NUM_BUILD_JOBS", default=0).install()  # 0: one job per core

setup(
    ext_modules=[
        Extension(
            "hazmat.routing._cch",
            sources=["routing/cch/_cch.cpp", *(str(ROUTINGKIT / "src" / f"{u}.cpp") for u in UNITS)],
            depends=sorted(str(h) for h in Path("routing/cch").glob("*.h")),  # our headers: an edit rebuilds
            include_dirs=[pybind11.get_include(), str(ROUTINGKIT / "include"), str(ROUTINGKIT / "src")],
            language="c++",
            # -ffp-contract=off: a search's costs add up as Python adds them (no fused operations), so a tie breaks alike
            extra_compile_args=[
                "-std=c++17",
                "-O3",
                "-g0",
                "-DNDEBUG",
                "-ffp-contract=off",
                "-fvisibility=hidden",
                "-w",
            ],
            extra_link_args=["-s"],  # no debug symbols: 12 MB of them otherwise
        )
    ],
    cmdclass={"build_ext": BuildExt},
)
