"""The Drive page, and logging in and out of an instance.

The page itself only renders a shell: everything it shows comes from the
files API, called by static/drive/*.js with the session cookie and CSRF token.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import ensure_csrf_cookie

from cozy.instances.models import Instance

# Everything is served by the app itself: no CDN, no inline script, no framing.
CSP = (
    "default-src 'self'; img-src 'self' data: blob:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)

View = Callable[..., HttpResponseBase]


def with_csp(view: View) -> View:
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponseBase:
        response = view(request, *args, **kwargs)
        response.setdefault("Content-Security-Policy", CSP)
        response.setdefault("Referrer-Policy", "same-origin")
        return response

    return wrapped


def error_page(request: HttpRequest, status: int, title: str, message: str) -> HttpResponse:
    context = {"status": status, "title": title, "message": message}
    return render(request, "drive/error.html", context, status=status)


def no_instance(request: HttpRequest) -> HttpResponse:
    return error_page(request, 404, "No cozy here",
                      "There is no cozy at this address. Check the address and try again.")


def request_instance(request: HttpRequest) -> Instance | None:
    return getattr(request, "instance", None)


def unavailable(request: HttpRequest) -> HttpResponse | None:
    """The page to show instead of the view, when there is no ready instance here."""
    instance = request_instance(request)
    if instance is None:
        return no_instance(request)
    if instance.state != Instance.State.READY:
        return error_page(request, 410, "This cozy is going away", "This cozy is being deleted.")
    return None


def is_owner(request: HttpRequest) -> bool:
    instance = request_instance(request)
    return instance is not None and request.user.is_authenticated and request.user.pk == instance.owner_id


@with_csp
def home(request: HttpRequest) -> HttpResponse:
    return unavailable(request) or redirect("drive:drive")


@with_csp
@never_cache
@ensure_csrf_cookie  # the page's scripts send this cookie back as X-CSRFToken
def drive(request: HttpRequest) -> HttpResponse:
    instance = owner_instance(request, "You are logged in with an account that does not own this cozy. "
                                       "Log out, then log in as its owner.")
    if isinstance(instance, HttpResponse):
        return instance
    return render(request, "drive/drive.html", {"instance": instance})


def owner_instance(request: HttpRequest, not_owner: str) -> Instance | HttpResponse:
    """The instance of an owner's page, or the page to send instead: the instance's state,
    the login form, or a 403 that says ``not_owner``."""
    if (page := unavailable(request)) is not None:
        return page
    instance = request_instance(request)
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if instance is None or request.user.pk != instance.owner_id:
        return error_page(request, 403, "Not your cozy", not_owner)
    return instance


class OwnerAuthenticationForm(AuthenticationForm):
    """Only the owner of the instance at this address may log in here."""

    def confirm_login_allowed(self, user) -> None:
        super().confirm_login_allowed(user)
        instance = request_instance(self.request) if self.request else None
        if instance is None or user.pk != instance.owner_id:
            # The same words as a wrong password: do not reveal which accounts exist.
            raise self.get_invalid_login_error()


class LoginView(auth_views.LoginView):
    template_name = "drive/login.html"
    authentication_form = OwnerAuthenticationForm

    @method_decorator(with_csp)
    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponseBase:
        if (page := unavailable(request)) is not None:
            return page
        if is_owner(request):
            return redirect(self.get_success_url())
        return super().dispatch(request, *args, **kwargs)

    def get_default_redirect_url(self) -> str:
        return reverse("drive:drive")

    def get_context_data(self, **kwargs) -> dict:
        return {**super().get_context_data(**kwargs), "instance": request_instance(self.request)}


class LogoutView(auth_views.LogoutView):
    def get_default_redirect_url(self) -> str:
        return reverse("drive:login")
