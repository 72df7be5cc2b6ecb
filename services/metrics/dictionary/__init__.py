"""The metric dictionary: built-in metrics, and derived metrics defined by expressions."""
