"""The five services. Each imports only ``shared`` and libraries, never another service."""
