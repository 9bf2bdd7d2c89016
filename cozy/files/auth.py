"""Who may use an instance's API: a bearer token of that instance, or its owner's session."""

from __future__ import annotations

import logging
import time

from django.http import HttpRequest
from ninja.security import HttpBearer
from ninja.utils import check_csrf

from cozy.files.errors import Forbidden, Gone, NotFound, TooManyRequests, Unauthorized
from cozy.instances import lookup_cache, throttle
from cozy.instances.models import Instance, Token, hash_token

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
log = logging.getLogger("cozy.security")


class AuthedRequest(HttpRequest):
    """The request of an API route: django-ninja sets ``auth`` to the instance that
    ``InstanceAuth`` found (a type for the checker; routes annotate ``request`` with it)."""

    auth: Instance


def request_instance(request: HttpRequest) -> Instance:
    instance = getattr(request, "instance", None)
    if instance is None:
        raise NotFound("no cozy instance at this address")
    if instance.state != Instance.State.READY:
        raise Gone("this instance is being deleted")
    return instance


class InstanceAuth(HttpBearer):
    """Bearer token for scripts; Django session (with CSRF) for the web UI."""

    def __call__(self, request: HttpRequest) -> Instance:
        instance = request_instance(request)
        header = request.headers.get("Authorization", "")
        if header:
            scheme, _, raw = header.partition(" ")
            if scheme.lower() != "bearer" or not raw.strip():
                raise Unauthorized("use 'Authorization: Bearer <token>'")
            return self.authenticate(request, raw.strip())
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            raise Unauthorized("log in or send a bearer token")
        if user.pk != instance.owner_id:
            raise Forbidden("this instance belongs to someone else")
        if request.method not in SAFE_METHODS and check_csrf(request) is not None:
            raise Forbidden("CSRF check failed: send the X-CSRFToken header")
        return instance

    def authenticate(self, request: HttpRequest, token: str) -> Instance:
        instance = request_instance(request)
        keys = [throttle.key("token", "address", throttle.client_address(request))]
        if not lookup_cache.unrefused.get(keys[0]):
            if wait := throttle.retry_after("token", keys):  # even a good token: the address is guessing
                raise TooManyRequests("too many invalid tokens from this address, try again later",
                                      retry_after=wait)
            lookup_cache.unrefused.put(keys[0], True)
        digest = hash_token(token)
        instance_id = lookup_cache.tokens.get(digest)
        if instance_id is None:
            found = Token.objects.filter(key_hash=digest, revoked_at=None).first()
            if found is None:
                lookup_cache.unrefused.discard(keys[0])  # the next attempt asks the shared counts again
                failures = throttle.record_failure("token", keys)
                log.warning("invalid bearer token from %s (%d in a row)", throttle.client_address(request), failures)
                time.sleep(throttle.delay("token", failures))
                raise Unauthorized("invalid or revoked token")
            instance_id = found.instance_id
            lookup_cache.tokens.put(digest, instance_id)
        if instance_id != instance.pk:
            raise Forbidden("this token belongs to another instance")
        return instance
