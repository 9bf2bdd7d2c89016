"""What the apps above tell about an instance for its export (its installed apps, say): each
registers a provider under a name, and the export writes what they give under that name.

The exports app reads the providers without importing the apps that register them (they are
independent layers)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cozy.instances.models import Instance

_PROVIDERS: dict[str, Callable[[Instance], Any]] = {}


def register(name: str, provider: Callable[[Instance], Any]) -> None:
    _PROVIDERS[name] = provider


def described(instance: Instance, name: str, default: Any = None) -> Any:
    """What the provider of ``name`` says of ``instance`` (JSON-able), or ``default`` if none."""
    provider = _PROVIDERS.get(name)
    return provider(instance) if provider else default
