"""The approver's own view: the steps waiting for the caller and the documents they open, as
Content Server lists them to that user, joined with what ecmpush sent and heard for each."""
