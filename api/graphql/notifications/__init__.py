"""The in-app inbox (`myNotifications`, `markNotificationsRead`, the `myNotifications`
subscription) and administrators' view of the outbox's deliveries and dead letters."""
