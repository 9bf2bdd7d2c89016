"""Exports: an instance's whole data, taken out as zip parts in its ``exports/`` area."""
