"""GraphQL over WebSocket (graphql-transport-ws at /graphql): the rules a socket lives by.

- `guard`: an ASGI wrapper that closes a socket with 1009 on any message over
  `max_body_bytes` before it is parsed, and ends the app's wait for messages once a socket is
  closed.
- `sessions`: the per-process registry of open sockets (limits per address and per account),
  each signed-in socket's rights (token expiry, the account's `account:<id>` broadcasts and a
  periodic re-read) and how they are withdrawn (the socket is closed, no further event sent).
- `handler`: Strawberry's graphql-transport-ws handler with those rules applied.
- `shared`: reads shared by the subscriptions of one process (one read per event, not one per
  subscriber).
"""
