"""Use cases the handlers call: intake, dispatch, device registration."""
