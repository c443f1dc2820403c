"""Algorithm submissions: a team's method, run by the platform on every task
(docs/architecture.md §9)."""
