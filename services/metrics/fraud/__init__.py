"""Fraud signals over facts, and reviewers' flags that exclude entity-days from net figures."""
