"""Latency tables (format, checks, lookup) and pricing of networks and spaces."""

from nas.latency.pricing import Price, SpacePricer, price_net
from nas.latency.store import find_table
from nas.latency.table import LatencyTable, MissingEntry, Stat, TableError, load_table, save_table

__all__ = ["LatencyTable", "MissingEntry", "Stat", "TableError", "load_table", "save_table",
           "find_table", "Price", "SpacePricer", "price_net"]
