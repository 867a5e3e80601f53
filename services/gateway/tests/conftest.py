"""The gateway's tests stand it up with some backends real or faked and the rest unreachable."""

import pytest

from gateway.settings import GatewaySettings
from microblog_dev.embedded_postgres import free_port

BACKENDS = ("identity", "posts", "timeline", "social_graph", "messaging", "notifier", "search_indexer")


@pytest.fixture
def gateway_settings():
    """`gateway_settings(jwt_secret=..., timeline_url=...)`: test settings; backends not given are unreachable."""

    def make(**given) -> GatewaySettings:
        nowhere = f"http://127.0.0.1:{free_port()}"
        return GatewaySettings(environment="test", **{f"{name}_url": nowhere for name in BACKENDS} | given)

    return make
