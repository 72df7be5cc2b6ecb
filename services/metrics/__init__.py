"""Metrics: signed webhooks, metric dictionary, rollups, KPIs, fraud signals, evaluation."""

SERVICE = "metrics"
