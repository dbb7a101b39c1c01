"""GraphQL: matching."""
