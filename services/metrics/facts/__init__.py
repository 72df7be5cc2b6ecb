"""Facts in: signed webhooks and internal posts, validated, restated and stored."""
