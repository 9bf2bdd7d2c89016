"""Password guessing: failed logins slow down, then get 429, per account and per client address.

Every login form (the Drive's and the admin's) goes through django.contrib.auth,
whose signals count failures and reset on success; the middleware refuses a
locked login before the password is even checked.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from cozy.instances import throttle

log = logging.getLogger("cozy.security")


def login_keys(request: HttpRequest, username: str) -> list[str]:
    keys = [throttle.key("login", "address", throttle.client_address(request))]
    if username:
        keys.append(throttle.key("login", "account", username))
    return keys


@receiver(user_login_failed)
def on_login_failed(sender, credentials: dict, request: HttpRequest | None = None, **kwargs) -> None:
    if request is None:  # authenticate() called outside a request (a command): nothing to throttle
        return
    username = str(credentials.get("username") or "")
    failures = throttle.record_failure("login", login_keys(request, username))
    # The account name as repr (no line breaks from the form); never the password.
    log.warning("failed login for account %r from %s (%d in a row)", username[:150],
                throttle.client_address(request), failures)
    time.sleep(throttle.delay("login", failures))


@receiver(user_logged_in)
def on_logged_in(sender, request: HttpRequest | None, user, **kwargs) -> None:
    if request is not None:
        throttle.reset(login_keys(request, user.get_username()))


class LoginThrottleMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST" and request.path in settings.COZY_LOGIN_PATHS:
            username = request.POST.get("username", "")
            wait = throttle.retry_after("login", login_keys(request, username))
            if wait:
                log.warning("login refused for account %r from %s: too many failures, %d s left",
                            username[:150], throttle.client_address(request), wait)
                return too_many(request, wait)
        return self.get_response(request)


def too_many(request: HttpRequest, wait: int) -> HttpResponse:
    minutes = max(1, round(wait / 60))
    message = f"Too many failed logins from here or for this account. Try again in about {minutes} minute(s)."
    context = {"status": 429, "title": "Too many attempts", "message": message}
    response = render(request, "drive/error.html", context, status=429)
    response["Retry-After"] = str(wait)
    return response
