from __future__ import annotations

from tests.conftest import login
from tests.factories import PASSWORD, make_admin


def test_admin_signs_in_and_sees_users(client, session):
    admin = make_admin(session)
    response = login(client, admin.email, PASSWORD)
    assert response.status_code == 302
    page = client.get("/admin/users")
    assert page.status_code == 200
    assert admin.email in page.get_data(as_text=True)
