"""Pure code every app may use: SVG charts, formula-safe CSV export, prediction flips.

The bottom of the layers with ``challenge_platform``'s core: it imports no Django and no app,
so scoring and the leaderboard share it without depending on each other.
"""
