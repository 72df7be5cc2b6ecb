"""Sources of facts: registration, signing secrets, entity mappings, and late-report notices."""
