"""All five services in one process: the embedded default behind ``make run``."""
