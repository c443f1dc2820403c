"""The Redis every leaderboard cache module speaks to, and the board cache's clock: which
cache backend holds the boards (:func:`enabled`), its redis-py client (:func:`redis_client`),
the broker's Redis for the refresh turns and the interval jobs (:func:`broker_client`), and
:func:`now`. A leaf: it imports no other module of the leaderboard, so any of them may ask it
for a connection (docs/operators/board-cache.md).
"""

from __future__ import annotations

import functools
import time

import redis
from django.conf import settings
from django.core.cache import cache
from django.core.cache.backends.redis import RedisCache
from django.utils.module_loading import import_string

from jobs.celery import celery_app


def in_redis() -> bool:
    """Whether the cache is Redis (Django's backend, or the platform's own made from it:
    jobs.redis_rest), shared by the web and the workers. A
    cache private to one process (local memory) could never see a worker's refresh, and the
    fast path and the bump are Redis scripts: with any other cache the boards are read from
    the database."""
    return _redis_backend(settings.CACHES["default"]["BACKEND"])


@functools.lru_cache(maxsize=8)
def _redis_backend(path: str) -> bool:
    """Whether the cache backend class at ``path`` is Django's Redis cache or made from it
    (asked on every board read: the class is looked up once per path)."""
    backend = import_string(path)
    return isinstance(backend, type) and issubclass(backend, RedisCache)


def enabled() -> bool:
    """Whether boards are kept in the cache: ``BOARD_CACHE`` on and the cache Redis."""
    return bool(getattr(settings, "BOARD_CACHE", True)) and in_redis()


def redis_client():
    """The redis-py client behind Django's cache (the bump and the fast path are scripts)."""
    return cache._cache.get_client(write=True)


def now() -> float:
    """The board cache's clock (epoch seconds): the grace's and the fast path's."""
    return time.time()


@functools.cache
def _broker(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2)


def broker_client() -> redis.Redis:
    """The broker's Redis (which the web processes and every worker share by construction):
    the refresh turns' and the interval jobs' counters."""
    return _broker(str(celery_app().conf.broker_url))
