"""The bus: outbox, relay, transports, inbox and dead letters."""
