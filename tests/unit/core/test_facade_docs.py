"""The public facade is documented (issue 19 §6): every public method of the ``Container`` and of
each service its fields are typed as carries a docstring, so the facade's documentation cannot rot.

The services are found from ``Container``'s annotations, not from a hand-kept list: a service added
to the container is checked from its first commit.
"""

from __future__ import annotations

import inspect

import pytest

from dealercrm.composition import container as container_module
from dealercrm.composition.container import Container

#: Where the facade's services live; a field typed as a class from these modules is a service.
SERVICE_MODULES = ("dealercrm.application.services.", "dealercrm.application.order_flow")

#: Fields whose annotations name types imported only for type checking (adapters, not services).
UNRESOLVED_NON_SERVICES = {"engine"}

#: Services left out of this check, each with its reason.
EXCLUDED: dict[str, str] = {}


def _field_types() -> dict[str, object]:
    resolved: dict[str, object] = {}
    for name, annotation in Container.__annotations__.items():
        try:
            resolved[name] = eval(annotation, vars(container_module)) if isinstance(annotation, str) else annotation
        except NameError:
            if name not in UNRESOLVED_NON_SERVICES:
                raise
    return resolved


def _services() -> list[type]:
    found = {t for t in _field_types().values()
             if isinstance(t, type) and t.__module__.startswith(SERVICE_MODULES)}
    return sorted(found, key=lambda t: t.__name__)


def _public_methods(cls: type) -> list[str]:
    return sorted(name for name, member in vars(cls).items()
                  if not name.startswith("_") and (inspect.isfunction(member) or isinstance(member, property)))


SERVICES = _services()


def test_the_container_names_the_services_embedding_teams_call():
    names = {cls.__name__ for cls in SERVICES}

    assert {"ChannelService", "IdentityService", "OrdersService", "OrderFlowService", "StockService"} <= names
    assert set(EXCLUDED) <= names, "an exclusion names a service the container no longer has"


@pytest.mark.parametrize("cls", [Container, *SERVICES], ids=lambda cls: cls.__name__)
def test_every_public_method_of_the_facade_has_a_docstring(cls):
    if cls.__name__ in EXCLUDED:
        pytest.skip(f"{cls.__name__}: {EXCLUDED[cls.__name__]}")

    undocumented = [name for name in _public_methods(cls) if not inspect.getdoc(getattr(cls, name))]

    assert inspect.getdoc(cls), f"{cls.__name__} has no class docstring"
    assert not undocumented, f"{cls.__name__} lacks docstrings on: {', '.join(undocumented)}"
