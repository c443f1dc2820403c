"""Algorithm submissions: a team's method, run by the platform on every task
(docs/developers/architecture.md §9)."""
