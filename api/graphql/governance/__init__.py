"""GraphQL: consultations' parties, sessions and settled disputes, and sentinel posts."""
