"""`Idempotency-Key` on the POSTs that create something: a retry gets the first answer and creates nothing."""
