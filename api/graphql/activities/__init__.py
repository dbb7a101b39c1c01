"""GraphQL: activities."""
