"""The web forms as plain validation: what was typed, and an error per field (translated)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from web.i18n import _

USERNAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f]{1,64}@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]{2,}$")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MAX_EMAIL = 120
MIN_PASSWORD, MAX_PASSWORD = 8, 256
MAX_TEXT = 140  # posts, messages, about me


@dataclass
class Form:
    data: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return not self.errors

    def error(self, name: str, message: str) -> None:
        self.errors.setdefault(name, message)


def _text(raw: Mapping, name: str, strip: bool = True) -> str:
    value = raw.get(name)
    value = value if isinstance(value, str) else ""
    return value.strip() if strip else value


def _required(form: Form, name: str) -> bool:
    if not form.data.get(name):
        form.error(name, _("This field is required."))
        return False
    return True


def _username(form: Form) -> None:
    if _required(form, "username") and not USERNAME.match(form.data["username"]):
        form.error("username", _("Use 1 to 64 letters, digits, dots, dashes or underscores."))


def _password(form: Form, name: str = "password", repeat: str = "password2") -> None:
    if _required(form, name):
        if len(form.data[name]) < MIN_PASSWORD:
            form.error(name, _("Use at least %(count)s characters.", count=MIN_PASSWORD))
        elif len(form.data[name]) > MAX_PASSWORD:
            form.error(name, _("Use at most %(count)s characters.", count=MAX_PASSWORD))
    if _required(form, repeat) and form.data.get(repeat) != form.data.get(name):
        form.error(repeat, _("The passwords must match."))


def _short_text(form: Form, name: str, required: bool = True) -> None:
    if required and not _required(form, name):
        return
    value = form.data.get(name, "")
    if len(value) > MAX_TEXT:
        form.error(name, _("Use at most %(count)s characters.", count=MAX_TEXT))
    elif CONTROL.search(value):
        form.error(name, _("Remove the control characters."))


def login_form(raw: Mapping) -> Form:
    form = Form(
        {
            "username": _text(raw, "username"),
            "password": _text(raw, "password", strip=False),
            "remember_me": "y" if raw.get("remember_me") else "",
        }
    )
    _required(form, "username")
    _required(form, "password")
    if len(form.data["username"]) > 64 or len(form.data["password"]) > MAX_PASSWORD:
        form.error("username", _("Invalid username or password"))
    return form


def registration_form(raw: Mapping) -> Form:
    form = Form(
        {
            "username": _text(raw, "username"),
            "email": _text(raw, "email"),
            "password": _text(raw, "password", strip=False),
            "password2": _text(raw, "password2", strip=False),
        }
    )
    _username(form)
    if _required(form, "email") and (len(form.data["email"]) > MAX_EMAIL or not EMAIL.match(form.data["email"])):
        form.error("email", _("Enter a valid email address."))
    _password(form)
    return form


def reset_request_form(raw: Mapping) -> Form:
    form = Form({"email": _text(raw, "email")})
    if _required(form, "email") and (len(form.data["email"]) > MAX_EMAIL or not EMAIL.match(form.data["email"])):
        form.error("email", _("Enter a valid email address."))
    return form


def reset_password_form(raw: Mapping) -> Form:
    form = Form({"password": _text(raw, "password", strip=False), "password2": _text(raw, "password2", strip=False)})
    _password(form)
    return form


def post_form(raw: Mapping) -> Form:
    form = Form({"post": _text(raw, "post")})
    _short_text(form, "post")
    return form


def message_form(raw: Mapping) -> Form:
    form = Form({"message": _text(raw, "message")})
    _short_text(form, "message")
    return form


def profile_form(raw: Mapping, current_email: str) -> Form:
    """The profile edit; a new email (anything but `current_email`) needs the current password too."""
    form = Form(
        {
            "username": _text(raw, "username"),
            "email": _text(raw, "email"),
            "about_me": _text(raw, "about_me"),
            "current_password": _text(raw, "current_password", strip=False),
        }
    )
    _username(form)
    if _required(form, "email") and (len(form.data["email"]) > MAX_EMAIL or not EMAIL.match(form.data["email"])):
        form.error("email", _("Enter a valid email address."))
    if form.data["email"] != current_email and not form.data["current_password"]:
        form.error("current_password", _("Enter your current password to change your email address."))
    _short_text(form, "about_me", required=False)
    return form
