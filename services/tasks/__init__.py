"""Tasks: WBS tasks with one owner (R1) and one approver (R2), dependencies and progress."""

SERVICE = "tasks"
