"""Making the private storage fail in a test.

Patch the storage's *class*, never the instance (nor the ``datasets.models`` proxy in front of
it): monkeypatch undoes an instance patch by leaving the old bound method on the instance, and
that hides every later test's class patch in the same process (a storage fault test then
passes or fails by the order xdist gives it).
"""

from __future__ import annotations

from django.utils.functional import empty

from scoring.models import Submission


def private_storage_class() -> type:
    """The class of the storage an upload is written to now (the fields follow
    settings.STORAGES, which another test of this process may have changed and restored)."""
    storage = Submission._meta.get_field("file").storage
    if getattr(storage, "_wrapped", None) is empty:
        storage._setup()
    return type(getattr(storage, "_wrapped", storage))
