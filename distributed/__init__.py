"""The production shape on one machine: a Kafka-protocol broker and one process per service."""
