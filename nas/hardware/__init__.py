"""Hardware facts shared by latency (priors, predicted tables) and profiling (bundles, imports).

It sits below both ``nas/latency`` and ``nas/profiling`` so neither imports the other for them.
"""
