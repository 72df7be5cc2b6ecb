"""The kill -9 harness: relay and consumer as separate processes, killed at fault points."""
