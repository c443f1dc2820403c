"""Where stored files live: the local disk under ``DATA_DIR`` (default) or S3
(``STORAGE_BACKEND=s3``), and the permissions of what is written there."""

from __future__ import annotations

from .environment import MEDIA_ROOT, PRIVATE_ROOT, env

STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT)},
    },
    "private": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(PRIVATE_ROOT)},
    },
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
if env("STORAGE_BACKEND", "local") == "s3":
    _s3 = {
        "bucket_name": env("AWS_STORAGE_BUCKET_NAME", "challenge"),
        "endpoint_url": env("AWS_S3_ENDPOINT_URL"),
        "region_name": env("AWS_S3_REGION_NAME", "us-east-1"),
        "default_acl": None,
        "querystring_auth": True,
        "file_overwrite": False,
    }
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {**_s3, "location": "media"},
    }
    STORAGES["private"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {**_s3, "location": "private"},
    }

# Stored files (uploads, task data, solutions, submissions, write-ups) are the platform
# account's alone on a local disk: Django's default would make them 0644.
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700
