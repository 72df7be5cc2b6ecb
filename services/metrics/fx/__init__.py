"""Currencies and exchange rates: money in a plan's own currency."""
