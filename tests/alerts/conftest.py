"""The alerts tests' fixtures live with their scenario."""

from tests.alerts.scenario import engine, receiver, sessions

__all__ = ["engine", "receiver", "sessions"]
