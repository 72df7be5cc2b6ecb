"""Diagnosis before adjustment: channel efficiency, funnels, trends, reallocation."""
