"""Alerts: rules on targets, progress and data; lifecycle, silences, notifications, escalation."""

SERVICE = "alerts"
