"""The route × role table's rows for the admin pages: endpoint -> (method, url
template, roles that get the page; None: public), and the makers of any placeholder the
URLs name beyond the table's own ({id}, {patient}, {location}, {job} …)."""

from __future__ import annotations

ADMIN = {"admin"}

ROUTES: dict[str, tuple] = {
    "admin.index": ("GET", "/admin/", ADMIN),
    "admin.users": ("GET", "/admin/users", ADMIN),
    "admin.new_user": ("GET", "/admin/users/new", ADMIN),  # the form; POST creates
    "admin.user": ("GET", "/admin/users/{person}", ADMIN),
    # A GET of a form's address shows the form on the person's page; POST changes.
    "admin.change_details": ("GET", "/admin/users/{person}/details", ADMIN),
    "admin.change_role": ("GET", "/admin/users/{person}/role", ADMIN),
    "admin.deactivate": ("GET", "/admin/users/{person}/deactivate", ADMIN),
    "admin.reactivate": ("GET", "/admin/users/{person}/reactivate", ADMIN),
    "admin.reset_password": ("GET", "/admin/users/{person}/password", ADMIN),
    "admin.grant_all_patients": ("GET", "/admin/users/{person}/patients/grant", ADMIN),
    "admin.revoke_all_patients": ("GET", "/admin/users/{person}/patients/revoke", ADMIN),
    "admin.catalogue": ("GET", "/admin/catalogue", ADMIN),
    "admin.locations_list": ("GET", "/admin/locations", ADMIN),
    "admin.notification_settings": ("GET", "/admin/settings/notifications", ADMIN),
}


def a_person(users, owner, unit) -> int:
    """Someone other than whoever asks: an admin may open anyone's page but their own
    differs (no role or deactivate form)."""
    return users["technician2"].id


ROWS: dict = {"person": a_person}
