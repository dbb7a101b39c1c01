"""GraphQL: areas."""
