"""``chal``: the command-line client over the REST API (docs/architecture.md §7).

It talks HTTP only (requests + tqdm) and imports nothing of Django, so it runs on any
machine that can reach the server: ``main`` parses the command line, ``client`` speaks
to ``/api/v1/``, ``config`` keeps the server and token, ``output`` draws the tables.
"""
