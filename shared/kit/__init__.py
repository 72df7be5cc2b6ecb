"""The runtime kit: settings, database, bus, errors, auth, observability. No business logic."""
