"""AutoGluon baseline runner: features, the subprocess entry point and its launcher."""
