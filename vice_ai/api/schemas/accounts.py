"""Declared inputs and answers of the account routes (api/accounts.py) and the admin routes (api/admin.py).

Usernames and passwords are checked here for shape only (strings, present, bounded);
the rules for what makes a username or a password acceptable stay in `accounts.users`,
with their own messages.
"""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from ...accounts.users import MAX_PASSWORD
from ..declare import Schema
from .resources import Out, UserOut
from .sessions import NotBlank

Username = Annotated[str, StringConstraints(strip_whitespace=True), Field(max_length=200), NotBlank()]
Password = Annotated[str, Field(min_length=1, max_length=MAX_PASSWORD)]


# ---- request bodies ----

class CredentialsIn(Schema):
    username: Username
    password: Password


class ModelPreferenceIn(Schema):
    model: Annotated[str, Field(max_length=200)] | None = Field(
        None, description="The model new chats use; null (or \"\") for the server's default.")


class ChangePasswordIn(Schema):
    current_password: Password
    new_password: Password


class CreateUserIn(Schema):
    username: Annotated[str, Field(max_length=200)]
    password: Password
    is_admin: bool = False


class UpdateUserIn(Schema):
    is_admin: bool = Field(description="Make the user an admin, or not (409 for the last admin).")


class ResetPasswordIn(Schema):
    new_password: Password


# ---- answers ----

class ModelChoiceOut(Out):
    preferred: str | None
    effective: str
    default: str
    notice: str | None = Field(None, description="Present when the preferred model is not available.")


class MeOut(Out):
    """The signed-in user, the server's auth mode and the model their new chats use."""

    user: UserOut
    auth: Literal["local", "password", "header"]
    model: ModelChoiceOut
    last_activity: str | None


class SignedOutOut(Out):
    signed_out: bool


class UsersOut(Out):
    users: list[UserOut]


class ModelUsageOut(Out):
    messages: int = Field(description="Replies that reached the user.")
    generations: int = Field(description="Every model call: tool steps and failures too.")


class StatsOut(Out):
    documents: int
    sessions: int
    archived_sessions: int
    messages: int
    users: int
    active_users: int = Field(description="Users seen in the last 24 hours.")
    models: dict[str, ModelUsageOut]


class ArchivedOut(Out):
    archived: list[str] = Field(description="The ids of the chats archived now.")
    after_days: float
