"""Content Server's wire types and errors, and a workflow step's key (TaskRef)."""
