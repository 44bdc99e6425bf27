"""ISO 3166-2 areas: names and administrative levels from pycountry's data, and the demo's
places paired with the right codes."""

from __future__ import annotations

from grantpool.demo import ORGANISATIONS
from grantpool.organisations.rules import (
    area_choices,
    area_label,
    area_level,
    area_name,
    area_parent,
    is_valid_area,
)


def test_areas_are_named_with_their_administrative_level() -> None:
    assert area_name("KE-47") == "West Pokot" and area_level("KE-47") == "County"
    assert area_name("KE-30") == "Nairobi City"
    assert area_label("BF-10") == "Nord (Region)"
    assert area_label("BF-YAT", "en") == "Yatenga (Province)"
    # A level no label is written for is given as ISO 3166-2 names it, never guessed.
    assert area_level("GB-LND") == "City corporation"
    assert area_level("KE-99") == "" and area_label("KE-99") == "KE-99"


def test_area_parent_tells_second_level_areas() -> None:
    assert area_parent("BF-YAT") == "BF-10"
    assert area_parent("BF-10") is None
    assert area_parent("KE-47") is None


def test_area_choices_state_the_level() -> None:
    choices = dict(area_choices("KE"))
    assert choices["KE-47"] == "West Pokot (County)"
    assert len(choices) == 47
    assert dict(area_choices("bf"))["BF-YAT"] == "Yatenga (Province)"


DEMO_PLACES = {"Kibera": "KE-30", "Bouaké": "CI-VB", "Gulu": "UG-N", "Ouahigouya": "BF-10"}


def test_demo_places_are_in_the_areas_they_are_paired_with() -> None:
    for organisation in ORGANISATIONS:
        assert is_valid_area(organisation["country"], organisation.get("area") or "")
        locality = organisation.get("locality")
        if locality in DEMO_PLACES:
            assert organisation["area"] == DEMO_PLACES[locality], locality
