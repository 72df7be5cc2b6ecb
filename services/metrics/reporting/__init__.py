"""The evaluation report: its data, languages, generated analysis, charts and exports."""
