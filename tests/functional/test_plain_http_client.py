"""An http:// registry client does not load the CA bundle (50-90 ms a run); https:// still verifies."""

from __future__ import annotations

import ssl

import httpx
import pytest

from ocitree.core.stores.registry.endpoint import parse_endpoint
from ocitree.core.stores.registry.transport import RegistryClient


@pytest.fixture
def ca_loads(monkeypatch):
    calls = []
    real = ssl.SSLContext.load_verify_locations

    def counting(self, *args, **kwargs):
        calls.append(args or kwargs)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", counting)
    monkeypatch.setattr(ssl.SSLContext, "load_default_certs", lambda self, *a: calls.append("default"))
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    return calls


def test_an_http_registry_client_loads_no_certificates(ca_loads):
    client = RegistryClient(parse_endpoint("http://127.0.0.1:5000"), None)
    try:
        assert ca_loads == []
    finally:
        client.http.close()


def test_an_https_request_from_an_http_registry_client_still_verifies(ca_loads, registry_tls):
    """A token server on https:// (the one https request such a client makes) is verified."""
    client = RegistryClient(parse_endpoint("http://127.0.0.1:5000"), None)
    try:
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            client.http.get(registry_tls.url + "/v2/")
        assert ca_loads  # loaded on first https use
    finally:
        client.http.close()
