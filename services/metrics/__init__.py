"""Metrics: signed webhook ingestion, metric dictionary, rollups, KPI achievement, fraud signals, evaluation."""

SERVICE = "metrics"
