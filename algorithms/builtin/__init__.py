"""Built-in algorithms: folders the platform zips into versions of a platform team's algorithm.

Each subfolder is an algorithm archive as a team would upload it (``algorithm.yaml``,
``main.py``, its code) and runs in the same sandbox as any team's algorithm. Nothing here
is imported by the platform (an import-linter contract): only its files are read.
"""
