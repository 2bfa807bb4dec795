"""Commands for a server without a browser: `flask --app vice_ai <command>` (on the app's `app.cli`).

They work on the data folder the app is configured with (VICE_AI_DATA_DIR), also
while the server runs: accounts are files written under their locks, and a
running server sees the change at its next request. Loaded for a command, the
app starts none of its background jobs (restoring notification streams,
repairing chats, archiving): those belong to the server.
"""
from __future__ import annotations

import os
import sys
from typing import Any

import click
from flask import Flask

from .errors import ViceError
from .services import services
from .storage.backup import backup


def loaded_for_a_command() -> bool:
    """True while the `flask` command line builds the app for a command other than `flask run`."""
    if os.environ.get("FLASK_RUN_FROM_CLI") != "true":
        return False
    ctx = click.get_current_context(silent=True)
    return ctx is not None and ctx.info_name != "run"


def _password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise click.ClickException("No password on standard input.")
        return line.rstrip("\r\n")
    value: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return value


def _account(name: str) -> Any:
    user = services().accounts.by_username(name)
    if user is None:
        raise click.ClickException(f"No user named {name!r}.")
    return user


def _run(action: Any) -> Any:
    """Our errors as a clear message and exit status 1 (not a traceback)."""
    try:
        return action()
    except ViceError as err:
        raise click.ClickException(err.message) from err


def init_app(app: Flask) -> None:
    """Register the account and backup commands on the app's command line."""

    @app.cli.command("create-user")
    @click.argument("username")
    @click.option("--admin", is_flag=True, help="Make the new user an admin.")
    @click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
    def create_user(username: str, admin: bool, password_stdin: bool) -> None:
        """Create an account (the very first one is always an admin)."""
        password = _password(password_stdin)
        user = _run(lambda: services().accounts.create(username, password, is_admin=admin))
        click.echo(f"Created {user.username}{' (admin)' if user.is_admin else ''}.")

    @app.cli.command("reset-password")
    @click.argument("username")
    @click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
    def reset_password(username: str, password_stdin: bool) -> None:
        """Set a user's password; every browser signed in as them is signed out (API tokens stay)."""
        user = _account(username)
        password = _password(password_stdin)
        _run(lambda: services().accounts.set_password(user.id, password))
        click.echo(f"New password set for {user.username}; their sign-ins ended.")

    @app.cli.command("set-admin")
    @click.argument("username")
    @click.option("--remove", is_flag=True, help="Remove the admin rights instead.")
    def set_admin(username: str, remove: bool) -> None:
        """Make a user an admin (or, with --remove, not; the last admin stays)."""
        user = _account(username)
        _run(lambda: services().accounts.set_admin(user.id, not remove))
        click.echo(f"{user.username} is {'no longer' if remove else 'now'} an admin.")

    @app.cli.command("list-users")
    def list_users() -> None:
        """Every account: username, role, created, last seen, API tokens."""
        users = services().accounts.all()
        if not users:
            click.echo("No accounts yet.")
            return
        width = max(len(u.username) for u in users)
        for user in users:
            click.echo(f"{user.username:<{width}}  {'admin' if user.is_admin else 'user ':5}  "
                       f"created {user.created_at}  last seen {user.last_activity or 'never'}  "
                       f"tokens {len(user.tokens)}")

    @app.cli.command("backup")
    @click.argument("dest", type=click.Path(file_okay=False))
    def backup_command(dest: str) -> None:
        """Copy the data folder to DEST (a new folder), consistently, while the server runs."""
        try:
            counts = backup(services().store, dest)
        except (FileExistsError, ValueError) as err:
            raise click.ClickException(str(err)) from err
        click.echo(f"Backed up to {dest}: " + ", ".join(f"{n} {what}" for what, n in counts.items()))
