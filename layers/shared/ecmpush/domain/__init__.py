"""Pure domain logic: models, routing, rendering, tokens. Imports nothing from the cloud."""
