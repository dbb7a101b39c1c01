"""Sending notifications: the channels (SMTP, the SMS/WeChat provider's HTTP API) and the
dispatcher that runs the outbox (schema/services/notification_outbox.py) with them."""
