"""Reviews and decisions: rubric, conflicts, community panels, four-eyes awards."""
