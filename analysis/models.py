"""Analysis runs and their results (the analysis issue fills this in)."""
