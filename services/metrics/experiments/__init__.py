"""A/B experiments: arms of fact entities compared on a ratio metric, reviewed on demand."""
