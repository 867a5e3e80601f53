import asyncio
import base64
import json

import pytest

from web.gateway import Unauthorized, Unavailable
from web.tokens import Refresher, expires_at, needs_refresh


def jwt(claims: dict) -> str:
    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'HS256'})}.{part(claims)}.signature"


def test_the_expiry_is_read_without_verifying():
    assert expires_at(jwt({"exp": 1800000000, "sub": "1"})) == 1800000000
    assert expires_at("not.a-jwt") is None
    assert expires_at("") is None
    assert needs_refresh(jwt({"exp": 1000}), now=1000 - 60)
    assert not needs_refresh(jwt({"exp": 1000}), now=1000 - 3000)
    assert not needs_refresh("garbage", now=0)


class Counting:
    def __init__(self, fail: Exception | None = None) -> None:
        self.calls, self.fail = [], fail

    async def __call__(self, refresh_token: str, address: str) -> dict:
        self.calls.append((refresh_token, address))
        await asyncio.sleep(0.01)
        if self.fail:
            raise self.fail
        return {"token": f"access-{len(self.calls)}", "refresh_token": f"refresh-{len(self.calls)}"}


async def test_concurrent_refreshes_of_one_token_make_one_call_and_share_its_result():
    refresh = Counting()
    refresher = Refresher(refresh)
    results = await asyncio.gather(*(refresher.refresh("r1", "10.0.0.1") for _ in range(10)))
    assert refresh.calls == [("r1", "10.0.0.1")]
    assert all(result == {"token": "access-1", "refresh_token": "refresh-1"} for result in results)
    assert await refresher.refresh("r1", "10.0.0.2") == results[0]  # a request with the old cookie, just after
    assert len(refresh.calls) == 1


async def test_the_result_is_forgotten_after_a_minute():
    now = [0.0]
    refresh = Counting()
    refresher = Refresher(refresh, remember=60, clock=lambda: now[0])
    await refresher.refresh("r1", "a")
    now[0] = 61
    await refresher.refresh("r1", "a")
    assert len(refresh.calls) == 2


async def test_a_rejected_token_stays_rejected_but_an_outage_is_retried():
    rejected = Refresher(Counting(Unauthorized("reused")))
    for _ in range(2):
        with pytest.raises(Unauthorized):
            await rejected.refresh("r1", "a")
    assert len(rejected._refresh.calls) == 1
    outage = Refresher(Counting(Unavailable("down")))
    for _ in range(2):
        with pytest.raises(Unavailable):
            await outage.refresh("r1", "a")
    assert len(outage._refresh.calls) == 2
