"""Pure contract: event envelope, event payloads and common types. Pydantic and stdlib only."""
