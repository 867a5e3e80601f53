from web import forms


def test_registration_needs_a_valid_username_email_and_the_password_twice():
    form = forms.registration_form(
        {"username": "susan", "email": "susan@example.com", "password": "correct horse", "password2": "correct horse"}
    )
    assert form.valid and form.data["username"] == "susan"
    bad = forms.registration_form({"username": "su san", "email": "nope", "password": "short", "password2": "other"})
    assert set(bad.errors) == {"username", "email", "password", "password2"}
    assert bad.errors["password2"] == "The passwords must match."
    assert forms.registration_form({}).errors["username"] == "This field is required."


def test_posts_and_messages_take_1_to_140_characters():
    assert forms.post_form({"post": "  hello  "}).data["post"] == "hello"
    assert forms.post_form({"post": "x" * 140}).valid
    assert forms.post_form({"post": "x" * 141}).errors["post"] == "Use at most 140 characters."
    assert not forms.post_form({"post": "   "}).valid
    assert not forms.message_form({"message": ""}).valid
    assert forms.message_form({"message": "see you"}).valid


SUSAN = {"username": "susan", "email": "susan@example.com"}


def test_about_me_is_optional_up_to_140_characters():
    assert forms.profile_form({**SUSAN, "about_me": ""}, "susan@example.com").valid
    assert "about_me" in forms.profile_form({**SUSAN, "about_me": "x" * 141}, "susan@example.com").errors
    assert "username" in forms.profile_form({**SUSAN, "username": "", "about_me": "hi"}, "susan@example.com").errors


def test_a_new_email_needs_the_current_password_and_the_same_one_does_not():
    moving = {**SUSAN, "email": "new@example.com"}
    assert forms.profile_form(SUSAN, "susan@example.com").valid
    refused = forms.profile_form(moving, "susan@example.com")
    assert set(refused.errors) == {"current_password"}
    assert "current password" in refused.errors["current_password"]
    assert forms.profile_form({**moving, "current_password": " a long password "}, "susan@example.com").valid
    assert set(forms.profile_form({**SUSAN, "email": "nope"}, "susan@example.com").errors) == {
        "email",
        "current_password",
    }


def test_fields_that_are_not_text_count_as_missing():
    form = forms.login_form({"username": ["list"], "password": None})
    assert set(form.errors) == {"username", "password"}
    assert forms.login_form({"username": "u", "password": "p", "remember_me": "y"}).data["remember_me"] == "y"
