"""Approvals: workflows, policies, requests, decisions and an audit trail."""

SERVICE = "approvals"
