"""Diagnosis of a plan: channel efficiency, funnels and trends."""
