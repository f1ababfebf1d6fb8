"""Search spaces as data: decisions, decoding to NetSpecs, and the pricing structure."""

from nas.spaces.base import Decision, Factor, Segment, Space
from nas.spaces.benchmark import Benchmark, load_benchmark
from nas.spaces.loader import SPACES_DIR, load_space, load_space_file, space_names

__all__ = ["Decision", "Factor", "Segment", "Space", "load_space", "load_space_file", "space_names",
           "SPACES_DIR", "Benchmark", "load_benchmark"]
