"""Countries and areas in the reader's language: CLDR country names sorted as the reader
sorts them, ISO 3166-2 areas chosen from the chosen country's list (never typed as a
code), and the server's check that the area lies in the country."""

from __future__ import annotations

import re

import pytest
from flask import Flask, render_template_string
from flask.testing import FlaskClient
from flask_babel import force_locale
from sqlalchemy.orm import Session

from grantpool.calls.rules import clean_answer
from grantpool.organisations.forms import OrganisationForm
from grantpool.organisations.rules import (
    LocationInvalid,
    area_choices,
    area_code_in,
    area_name,
    check_location,
    country_choices,
    country_name,
    country_of_area,
)
from tests.conftest import login
from tests.factories import PASSWORD, make_user

LOCATION = {"key": "place", "kind": "location", "label": {"en": "Where?"}}


def names(locale: str) -> list[str]:
    return [name for _code, name in country_choices(locale)]


def test_country_names_come_from_cldr_in_the_readers_language() -> None:
    assert country_name("CI", "fr") == "Côte d’Ivoire"
    assert country_name("DE", "fr") == "Allemagne"
    assert country_name("DE", "es") == "Alemania"
    assert country_name("KE", "ar") == "كينيا"
    assert country_name("TZ", "en") == "Tanzania"
    # Outside a request, and for a language CLDR does not know: English.
    assert country_name("DE") == "Germany" == country_name("DE", "xx")
    assert country_name("ZZ") == "ZZ"


def test_countries_sort_as_the_reader_sorts_them() -> None:
    french = names("fr")
    # Accented initials sort with their letter, not after Z.
    assert french.index("Danemark") < french.index("Égypte") < french.index("Espagne")
    assert french.index("Espagne") < french.index("États-Unis") < french.index("Éthiopie")
    assert french[-1].startswith("Zimbabwe")
    spanish = names("es")
    assert spanish.index("Perú") < spanish.index("Polonia")
    assert spanish.index("Japón") < spanish.index("Jordania")
    arabic = names("ar")
    assert all(re.match(r"[\u0600-\u06ff]", n) for n in arabic[:5])
    assert len(french) == len(arabic) == len(pycountry_codes())


def pycountry_codes() -> set[str]:
    import pycountry

    return {c.alpha_2 for c in pycountry.countries}


def test_a_call_open_to_a_few_countries_offers_only_those() -> None:
    assert [c.code for c in country_choices("fr", only=["ug", "KE", "CI"])] == ["CI", "KE", "UG"]


def test_area_names_are_translated_where_iso_3166_2_has_them() -> None:
    assert area_name("AE-DU", "fr") == "Dubaï"
    assert area_name("AE-DU", "en") == "Dubai"  # pycountry's English name, not "Dubayy"
    assert area_name("KE-30", "fr") == "Nairobi City"  # no French name: ISO's own
    assert area_name("KE-30", "ar") == "Nairobi City"  # no Arabic catalogue at all
    assert area_name("XX-1", "fr") == "XX-1" and area_name(None) == ""


def test_areas_of_a_country_are_listed_by_name_in_the_readers_language() -> None:
    french = area_choices("AE", "fr")
    labels = [label for _code, label in french]
    assert labels == sorted(labels, key=str.casefold)
    assert ("AE-DU", "Dubaï (Emirate)") in french
    assert area_choices("ke", "en")[0] == ("KE-01", "Baringo (County)")
    assert area_choices("ZZ") == ()


@pytest.mark.parametrize(
    ("country", "area", "expected"),
    [
        ("ke", "ke-30", ("KE", "KE-30")),
        ("KE", "", ("KE", None)),
    ],
)
def test_a_location_is_a_country_and_an_area_in_it(
    country: str, area: str, expected: tuple[str, str | None]
) -> None:
    assert check_location(country, area) == expected


@pytest.mark.parametrize(
    ("country", "area", "field"),
    [
        ("UG", "KE-30", "area"),
        ("KE", "Nairobi", "area"),
        ("XX", "", "country"),
        ("", "", "country"),
        ("", "KE-30", "country"),
    ],
)
def test_a_location_that_is_not_one_is_refused(country: str, area: str, field: str) -> None:
    with pytest.raises(LocationInvalid) as refusal:
        check_location(country, area)
    assert refusal.value.field == field


def test_answers_are_checked_by_the_same_rule(app: Flask) -> None:
    assert clean_answer(LOCATION, {"country": "ke", "area": "KE-47"}, "USD", "en") == {
        "country": "KE",
        "area": "KE-47",
    }
    with app.test_request_context(), force_locale("fr"), pytest.raises(ValueError) as refusal:
        clean_answer(LOCATION, {"country": "UG", "area": "KE-47"}, "USD", "fr")
    assert str(refusal.value)


def test_an_area_from_a_grouped_list_tells_its_country() -> None:
    assert country_of_area("ke-30") == "KE"
    assert country_of_area("Nairobi") == "" and country_of_area(None) == ""


def test_a_spreadsheet_area_cell_gives_its_code() -> None:
    assert area_code_in("KE-30 Nairobi City (County)") == "KE-30"
    assert area_code_in(" ke-30 ") == "KE-30"
    assert area_code_in("Nairobi") == "Nairobi"


def test_the_country_name_filter_speaks_the_readers_language(app: Flask) -> None:
    with app.test_request_context(), force_locale("fr"):
        assert render_template_string("{{ 'DE'|country_name }}") == "Allemagne"
        assert [n for _c, n in country_choices()][:2] == ["Afghanistan", "Afrique du Sud"]
    with app.test_request_context():
        assert render_template_string("{{ 'DE'|country_name }}") == "Germany"


# The location field of the application form ----------------------------------------------

FIELD = (
    '{% from "intake/_location.html" import location_field with context %}'
    "{{ location_field(q, value, none, countries) }}"
)


def field(app: Flask, value: object, countries: object, locale: str = "en") -> str:
    with app.test_request_context(), force_locale(locale):
        return render_template_string(FIELD, q=LOCATION, value=value, countries=countries)


def options(html: str, name: str) -> list[str]:
    select = re.search(rf'<select[^>]*name="{re.escape(name)}"[^>]*>(.*?)</select>', html, re.S)
    assert select is not None, name
    return re.findall(r'<option value="([^"]*)"', select.group(1))


def test_with_a_country_chosen_the_area_is_chosen_from_its_areas(app: Flask) -> None:
    html = field(app, {"country": "KE", "area": "KE-47"}, country_choices("fr"), "fr")
    assert options(html, "place.area") == ["", *[c for c, _l in area_choices("KE", "fr")]]
    assert re.search(r'<option value="KE-47" selected>West Pokot \(', html)
    assert 'data-area-of="q-place"' in html and 'name="place.areas_for" value="KE"' in html
    assert 'type="text"' not in html  # never typed as a code
    assert "js/area.js" in html
    later = re.search(r'<p class="hint" id="q-place-area-later"([^>]*)>', html)
    assert later is not None and "hidden" in later.group(1)


def test_an_area_sent_without_its_country_is_kept_in_its_countrys_list(app: Flask) -> None:
    html = field(app, {"country": "", "area": "KE-47"}, country_choices("en"))
    assert re.search(r'<option value="KE-47" selected>', html)
    assert "selected" not in html.split('name="place.area"')[0]  # the country is still asked


def test_a_call_open_to_a_few_countries_groups_every_area_by_country(app: Flask) -> None:
    few = country_choices("en", only=["KE", "UG"])
    html = field(app, {}, few)
    assert re.findall(r'<optgroup label="([^"]+)"', html) == ["Kenya", "Uganda"]
    assert len(options(html, "place.area")) == 1 + len(area_choices("KE")) + len(area_choices("UG"))
    assert 'name="place.areas_for" value="*"' in html


def test_otherwise_the_areas_come_once_the_country_is_sent(app: Flask) -> None:
    html = field(app, {}, country_choices("en"))
    assert 'name="place.area"' in html and '<select id="q-place-area"' not in html
    later = re.search(r'<p class="hint" id="q-place-area-later"([^>]*)>', html)
    assert later is not None and "hidden" not in later.group(1)
    assert 'name="place.areas_for" value=""' in html
    assert len(options(html, "place.country")) == 1 + len(country_choices())


def test_the_area_script_is_small() -> None:
    from pathlib import Path

    script = Path(__file__).parents[2] / "static" / "js" / "area.js"
    assert script.stat().st_size < 2048


# Organisation registration and profile ----------------------------------------------------


def test_the_organisation_form_offers_the_chosen_countrys_areas(app: Flask) -> None:
    with app.test_request_context(method="POST", data={"country": "KE", "area": "KE-30"}):
        form = OrganisationForm()
        assert ("KE-30", "Nairobi City (County)") in form.area.choices
        html = str(form.area())
        assert '<select data-area-of="country"' in html
        assert re.search(r'<option selected value="KE-30">|<option value="KE-30" selected', html)
    with app.test_request_context(method="POST", data={}):
        assert OrganisationForm().area.choices == [("", "")]


def test_the_profile_page_names_the_area(app: Flask, session: Session, client: FlaskClient) -> None:
    from grantpool.organisations.commands import organisation_details
    from grantpool.organisations.services import create_organisation

    admin = make_user(session, "admin")
    organisation = create_organisation(
        session,
        admin,
        organisation_details(name="Kibera Water", country="KE", area="KE-30", org_type="local_ngo"),
    )
    session.commit()
    login(client, admin.email, PASSWORD)
    page = client.get(f"/organisations/{organisation.id}/edit").get_data(as_text=True)
    assert re.search(r'<option selected value="KE-30">|<option value="KE-30" selected', page)
    assert 'data-area-of="country"' in page and "js/area.js" in page
    show = client.get(f"/organisations/{organisation.id}").get_data(as_text=True)
    assert "Nairobi City" in show


def test_registration_asks_the_country_before_the_area(client: FlaskClient) -> None:
    page = client.get("/register").get_data(as_text=True)
    assert 'id="country"' in page and 'id="area-later"' in page
    assert 'name="area"' not in page  # no area list until a country is chosen
