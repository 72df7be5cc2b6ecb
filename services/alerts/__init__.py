"""Alerts: rules on targets, progress and data; alert lifecycle, silences, notifications, escalation."""

SERVICE = "alerts"
