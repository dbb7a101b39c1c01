"""`me`: the caller's own account, person and work (needs, assignments, sign-ups, requests,
service hours)."""
