"""The comparison report: zoo models and searched networks priced on the same latency tables."""

from nas.report.compare import Comparison, Row, build_comparison
from nas.report.render import render

__all__ = ["Comparison", "Row", "build_comparison", "render"]
