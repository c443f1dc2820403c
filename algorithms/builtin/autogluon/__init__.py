"""The AutoGluon baseline, an algorithm of each challenge's baseline team
(docs/architecture.md §9).

This folder is the algorithm's archive: the platform zips it (``algorithm.yaml`` and
``main.py`` at the top, this package as ``autogluon_baseline/``, the name it has always had
inside the archive, so an unchanged folder gives a byte-identical archive) into a built-in
version and runs it through the same sandbox as any team's algorithm. Nothing here may import
Django or a platform app: inside the sandbox only this folder and the locked environment
exist.
"""
