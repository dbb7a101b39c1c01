"""GraphQL: enterprise."""
