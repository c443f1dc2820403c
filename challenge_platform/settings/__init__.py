"""Settings modules: ``local`` (default), ``test`` and ``production``."""
