"""If-None-Match against a read answer's ETag (RFC 9110: weak comparison, lists, `*`)."""

import pytest

from microblog_shared.http.readapi import entity_tag, not_modified

TAG = entity_tag(b'{"id":1}')


def test_the_etag_is_strong_and_follows_the_bytes():
    assert TAG.startswith('"') and TAG.endswith('"') and not TAG.startswith("W/")
    assert entity_tag(b'{"id":1}') == TAG != entity_tag(b'{"id":2}')


@pytest.mark.parametrize("header", [TAG, f"W/{TAG}", f'"x", {TAG}', f'"x",{TAG} ', "*"])
def test_a_header_naming_the_tag_is_not_modified(header):
    assert not_modified(header, TAG)


@pytest.mark.parametrize("header", [None, "", '"x"', TAG.strip('"'), f'"x", "{TAG}"'])
def test_any_other_header_is_answered_in_full(header):
    assert not not_modified(header, TAG)
