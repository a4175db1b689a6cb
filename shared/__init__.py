"""The shared kit every fupin service stands on: events, bus, outbox/inbox, auth, errors, codes."""
