"""The leaderboard's caches: what makes a board cost a static file (docs/architecture.md).

The stored board answers and their versions (:mod:`.board_cache`, :mod:`.transfer_cache`),
the WSGI fast path that answers anonymous reads before Django (:mod:`.fastpath`) and the
proxy in front of it (:mod:`.proxy`), the renders after a score (:mod:`.prerender`), the
coalesced interval jobs (:mod:`.interval_jobs`) and the Redis they all speak to
(:mod:`.connection`). When a board changes, and in which order its caches hear of it, is said
in one place: ``leaderboard.refresh``. The cache may import the leaderboard's domain; the
domain never imports the cache (an import-linter contract, pyproject.toml).
"""
