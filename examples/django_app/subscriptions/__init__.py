"""Newsletter subscriptions: a confirmation email is queued once the signup commits."""
