"""Pure domain logic, imports nothing from the cloud: intake/, delivery/, replies/, sweeps/, ecm/
by what they are about, and at the top the helpers every group shares."""
