"""The material library's rules (domain/materials.py): moderation moves a material forward
only, a post's text and images are checked, video links are https only, and the touch a
shared material leaves names it."""

from __future__ import annotations

import io

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from server.domain.attribution import channel_of
from server.domain.materials import (
    ACTIONS,
    MAX_IMAGES,
    STATUSES,
    action_in,
    check_post,
    check_video_url,
    material_of,
    moderate,
    source_of,
)
from server.errors import BadInput, Conflict
from server.growth.media import THUMB_SIDE, clean_image, image_key

ALLOWED = {
    ("pending", "approve"): "approved",
    ("pending", "reject"): "rejected",
    ("approved", "take_down"): "taken_down",
}


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("action", ACTIONS)
def test_moderation_moves_forward_only(status: str, action: str) -> None:
    expected = ALLOWED.get((status, action))
    if expected is None:
        with pytest.raises(Conflict) as refused:
            moderate(status, action)  # type: ignore[arg-type]
        assert refused.value.code == "material_decided"
    else:
        assert moderate(status, action) == expected  # type: ignore[arg-type]


@given(st.lists(st.sampled_from(ACTIONS), max_size=8))
def test_any_run_of_actions_ends_where_the_table_says(actions: list[str]) -> None:
    """Against the plain table: each action either moves by it or changes nothing."""
    status = "pending"
    for action in actions:
        after = ALLOWED.get((status, action))
        try:
            status = moderate(status, action)  # type: ignore[arg-type]
        except Conflict:
            assert after is None
        else:
            assert status == after
    assert status in STATUSES


def test_a_post_needs_words_or_images_and_no_more_than_nine() -> None:
    assert check_post("  好吃  ", 0) == "好吃"
    assert check_post("", 3) == ""
    for text, images, field in [("", 0, "text"), ("x" * 501, 0, "text"), ("x", 10, "images")]:
        with pytest.raises(BadInput) as refused:
            check_post(text, images)
        assert refused.value.field == field
    assert check_post("x" * 500, MAX_IMAGES) == "x" * 500


@pytest.mark.parametrize(
    "url",
    [
        "http://v.example.com/1",
        "javascript:alert(1)",
        "https://",
        "https://u:p@v.example.com/",
        "ftp://x/y",
        "https://v.example.com/" + "x" * 300,
    ],
)
def test_a_video_link_is_https_to_a_named_host(url: str) -> None:
    with pytest.raises(BadInput) as refused:
        check_video_url(url)
    assert refused.value.field == "video_url"


def test_good_video_links_are_kept() -> None:
    assert check_video_url(" https://v.douyin.com/abc/ ") == "https://v.douyin.com/abc/"


def test_a_shared_materials_touch_names_it_and_its_channel() -> None:
    source = source_of("M0123456789abcdef")
    assert material_of(source) == "M0123456789abcdef"
    assert channel_of(source) == "material"
    assert material_of("ref:DABCDEFG") is None and material_of(None) is None


def test_urls_name_their_action() -> None:
    assert action_in("/api/v1/ops/materials/M1/take-down") == "take_down"
    assert action_in("/console/materials/M1/approve") == "approve"


def test_an_image_is_kept_resized_with_a_thumbnail_and_named_keys_only() -> None:
    out = io.BytesIO()
    Image.new("RGB", (3000, 1000), (10, 200, 10)).save(out, "PNG")
    full, thumb = clean_image(out.getvalue(), "images[0]")
    with Image.open(io.BytesIO(full)) as big, Image.open(io.BytesIO(thumb)) as small:
        assert (big.format, big.size) == ("JPEG", (1600, 533))
        assert (small.format, max(small.size)) == ("JPEG", THUMB_SIDE)
    assert image_key("M1", "3.thumb.jpg") == "materials/M1/3.thumb.jpg"
    for name in ("../x.jpg", "10.jpg", "0.jpg", "1.png", "1.jpg/../../etc", "1.jpg\n"):
        assert image_key("M1", name) is None
