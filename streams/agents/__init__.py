"""One module per flow: ``checkins`` (check-in → verdict, alerts, archive), ``blacklist`` (run-time updates)."""
