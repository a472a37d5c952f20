"""A recipient's answer: reply bodies, action tokens, dispositions and the write-back into
Content Server."""
