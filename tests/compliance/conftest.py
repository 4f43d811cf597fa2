"""Fixtures for compliance tests: the shipped packs and a Redis cap store under the session prefix."""

from __future__ import annotations

import pytest

from dialer_common.compliance.caps import RedisFrequencyCaps
from dialer_common.compliance.packs import PackSet


@pytest.fixture(scope="session")
def packs() -> PackSet:
    return PackSet.load()


@pytest.fixture
def caps(redis_client, config) -> RedisFrequencyCaps:
    return RedisFrequencyCaps(redis_client, config.redis_prefix)
