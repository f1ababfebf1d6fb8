"""Core ML export, checks of the exported program, and the Neural Engine compatibility report."""

from nas.export.package import ExportOptions, ExportResult, export_mlpackage, export_package
from nas.export.torch_prep import ExportError

__all__ = ["ExportOptions", "ExportResult", "ExportError", "export_package", "export_mlpackage"]
