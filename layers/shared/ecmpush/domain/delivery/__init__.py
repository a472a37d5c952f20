"""From a queued message to a push: notifications, routing, audiences, preferences, devices,
rendering, FCM pacing."""
