"""GraphQL: units."""
