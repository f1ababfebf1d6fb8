"""Profiling: device names, Core ML bundles for the on-device harness, local runners."""
