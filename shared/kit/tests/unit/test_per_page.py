"""per_page as the seed API took it: at least 1, and anything above 100 is served as 100."""

from typing import Annotated

import httpx
import pytest
from fastapi import Depends

from microblog_shared.http.app import create_service_app
from microblog_shared.http.pagination import PageParams, page_params


@pytest.fixture
async def client():
    app = create_service_app("test", "test", [])

    @app.get("/things")
    async def things(page: Annotated[PageParams, Depends(page_params)]) -> dict:
        return {"per_page": page.per_page}

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        yield http


@pytest.mark.parametrize("sent, served", [("1", 1), ("100", 100), ("101", 100), (str(10**6), 100), (str(10**30), 100)])
async def test_per_page_above_100_is_served_as_100(client, sent, served):
    response = await client.get("/things", params={"per_page": sent})
    assert (response.status_code, response.json()) == (200, {"per_page": served})


@pytest.mark.parametrize("sent", ["0", "-1", "a"])
async def test_per_page_below_1_is_still_a_400(client, sent):
    assert (await client.get("/things", params={"per_page": sent})).status_code == 400


async def test_the_schema_says_what_per_page_does(client):
    schema = (await client.get("/openapi.json")).json()
    [per_page] = [p for p in schema["paths"]["/things"]["get"]["parameters"] if p["name"] == "per_page"]
    assert "maximum" not in per_page["schema"] and per_page["schema"]["minimum"] == 1
    assert "above 100 are treated as 100" in per_page["description"]
