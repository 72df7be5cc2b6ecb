"""Plan targets as planning publishes them, objectives' achievement, decomposition and payouts."""
