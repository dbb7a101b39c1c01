"""GraphQL: needs."""
