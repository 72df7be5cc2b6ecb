"""Daily and hourly rollups of facts, the figures read from them, and their snapshots."""
