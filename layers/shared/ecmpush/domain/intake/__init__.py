"""What arrives: Content Server events and their webhook (body, signature, links, caps,
outcomes)."""
