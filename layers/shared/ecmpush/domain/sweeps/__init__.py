"""The scheduled sweeps' rules: SLA ladder, tracked tasks, expiry warnings and the expiry search."""
