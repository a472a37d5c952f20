"""ECM-side senders: what makes Content Server's events reach ecmpush's webhook (docs/ecm.md)."""
