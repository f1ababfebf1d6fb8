"""Search for architectures under a latency target: strategies, accuracy estimators, the loop, results."""
