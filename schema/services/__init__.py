"""Service functions: the closed loop's writes, keyword-only async functions over an AsyncSession.

Each function runs inside the caller's transaction (the API's `db.transaction()`), decides every
transition with `schema.workflow`, writes its event row in that same transaction, and raises the
typed errors of `schema.services.errors` (or `schema.workflow.IllegalTransition`) for expected
failures, so that the caller rolls back and nothing changes. No web imports here.
"""
