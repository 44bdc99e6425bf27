"""With JavaScript, the area list follows the chosen country and can be searched; the
page works without it (tests/organisations/test_locations.py)."""

from __future__ import annotations


def test_the_area_list_follows_the_country_and_can_be_searched(browser, live_server) -> None:
    context = browser.new_context(viewport={"width": 360, "height": 640})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{live_server.url}/register")
    assert page.is_visible("#area-later") and page.locator("#area").count() == 0
    page.select_option("#country", "KE")
    page.click("main form button[type=submit]")  # no name: the form comes back, with KE's areas
    assert page.locator("#area option").count() == 48
    page.fill("#area-search", "pok")
    assert page.locator("#area option").all_inner_texts() == ["", "West Pokot (County)"]
    page.fill("#area-search", "")
    page.select_option("#area", "KE-30")
    page.fill("#area-search", "pok")  # the chosen area stays chosen while searching
    assert page.input_value("#area") == "KE-30"
    page.select_option("#country", "UG")  # its areas are not on the page: offered after saving
    assert not page.is_visible("#area") and page.is_visible("#area-later")
    assert page.input_value("#area") == ""
    page.select_option("#country", "KE")
    assert page.is_visible("#area")
    assert errors == []
    context.close()
