"""The leaderboard's caches: what makes a board cost a static file (docs/architecture.md).

The stored board answers and their versions (:mod:`.board_cache`, :mod:`.transfer_cache`),
the WSGI fast path that answers anonymous reads before Django (:mod:`.fastpath`) and the
proxy in front of it (:mod:`.proxy`), the renders after a score (:mod:`.prerender`), the
version bumps (:mod:`.bumps`), a task's refresh turn (:mod:`.refresh_turns`) and the
coalesced interval jobs (:mod:`.interval_jobs`). The cache may import the leaderboard's
domain; the domain never imports the cache (an import-linter contract, pyproject.toml).
"""
