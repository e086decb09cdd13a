"""The audit log: who read or changed which participant or slot, when, and through which endpoint."""
