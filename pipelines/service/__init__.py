"""Around the flow: schedules and deployments, the standing server, the watcher, the temporary server, artifacts."""
