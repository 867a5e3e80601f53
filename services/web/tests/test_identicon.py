import hashlib

import pytest

from web.identicon import identicon_svg


def test_the_same_hash_draws_the_same_picture_and_others_differ():
    one, two = (hashlib.md5(e.encode()).hexdigest() for e in ("susan@example.com", "john@example.com"))
    assert identicon_svg(one, 36) == identicon_svg(one, 36)
    assert identicon_svg(one, 36) != identicon_svg(two, 36)
    assert identicon_svg(one, 128).startswith('<svg xmlns="http://www.w3.org/2000/svg" width="128"')


def test_only_md5_digests_are_drawn():
    with pytest.raises(ValueError):
        identicon_svg("<script>", 36)
