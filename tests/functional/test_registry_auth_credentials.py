"""Where registry credentials come from: options, docker's config.json, credential helpers, auth.json."""

from __future__ import annotations

import base64
import json
import os
import stat
import sys
import textwrap

import httpx
import pytest

from ocitree.core.errors import BadInputError, StoreError
from ocitree.core.stores.options import SourceOptions
from ocitree.core.stores.registry.auth import RegistryAuth
from ocitree.core.stores.registry.credentials import Credentials, lookup_credentials

SECRET = "pa55-w0rd-never-printed"
HOST = "registry.example.com:5000"


def _auth(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def _write(path, doc) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))


@pytest.fixture
def docker_config(isolated_home):
    return isolated_home / ".docker" / "config.json"


@pytest.fixture
def helper_dir(tmp_path, monkeypatch):
    """A directory on PATH holding a fake `docker-credential-test` that follows the helper protocol.

    It knows one server, answers "credentials not found" otherwise, and records what it was asked."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "docker-credential-test"
    script.write_text(textwrap.dedent(f"""\
        #!{sys.executable}
        import json, os, sys
        server = sys.stdin.read().strip()
        with open(os.path.join(os.path.dirname(__file__), "asked.log"), "a") as log:
            log.write(sys.argv[1] + " " + server + "\\n")
        known = json.loads(os.environ.get("FAKE_HELPER_KNOWS", "{{}}"))
        if sys.argv[1] != "get" or server not in known:
            print("credentials not found in native keychain")
            sys.exit(1)
        user, secret = known[server]
        print(json.dumps({{"ServerURL": server, "Username": user, "Secret": secret}}))
        """))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    return bin_dir


# -- options and docker's config.json ----------------------------------------------------------


def test_username_and_password_options_win_over_files(docker_config):
    _write(docker_config, {"auths": {HOST: {"auth": _auth("from-file", "x")}}})
    found = lookup_credentials(HOST, SourceOptions(username="cli-user", password=SECRET))
    assert (found.username, found.password, found.source) == ("cli-user", SECRET, "--username")


def test_username_without_password_is_a_clear_error():
    with pytest.raises(BadInputError, match="--password-stdin"):
        lookup_credentials(HOST, SourceOptions(username="cli-user"))


def test_nothing_configured_means_anonymous():
    assert lookup_credentials(HOST, SourceOptions()) is None


def test_docker_config_base64_auth(docker_config):
    _write(docker_config, {"auths": {"other.example.com": {"auth": _auth("no", "no")},
                                     HOST: {"auth": _auth("alice", SECRET)}}})
    found = lookup_credentials(HOST, SourceOptions())
    assert (found.username, found.password, found.source) == ("alice", SECRET, str(docker_config))


@pytest.mark.parametrize("key", [f"https://{HOST}", f"https://{HOST}/v1/", f"http://{HOST}/", HOST.upper()])
def test_docker_config_keys_with_scheme_and_suffix_match_the_host(docker_config, key):
    _write(docker_config, {"auths": {key: {"auth": _auth("alice", SECRET)}}})
    assert lookup_credentials(HOST, None).username == "alice"
    # The caller may hand over the source URL as typed, too.
    assert lookup_credentials(f"https://{HOST}", None).username == "alice"


def test_a_different_port_is_a_different_registry(docker_config):
    _write(docker_config, {"auths": {"registry.example.com:5001": {"auth": _auth("alice", SECRET)}}})
    assert lookup_credentials(HOST, None) is None


@pytest.mark.parametrize("asked", ["docker.io", "index.docker.io", "registry-1.docker.io"])
def test_docker_hub_names_are_aliases(docker_config, asked):
    _write(docker_config, {"auths": {"https://index.docker.io/v1/": {"auth": _auth("hubuser", SECRET)}}})
    assert lookup_credentials(asked, None).username == "hubuser"


def test_docker_config_env_names_the_directory(isolated_home, tmp_path, monkeypatch, docker_config):
    _write(docker_config, {"auths": {HOST: {"auth": _auth("home-user", "x")}}})
    elsewhere = tmp_path / "dockercfg"
    _write(elsewhere / "config.json", {"auths": {HOST: {"auth": _auth("env-user", SECRET)}}})
    monkeypatch.setenv("DOCKER_CONFIG", str(elsewhere))
    assert lookup_credentials(HOST, None).username == "env-user"


def test_username_and_password_fields_and_identity_token(docker_config):
    _write(docker_config, {"auths": {
        HOST: {"username": "bob", "password": SECRET},
        "idp.example.com": {"auth": "", "identitytoken": "refresh-123"},
    }})
    bob = lookup_credentials(HOST, None)
    assert (bob.username, bob.password) == ("bob", SECRET)
    idp = lookup_credentials("idp.example.com", None)
    assert idp.identity_token == "refresh-123"
    assert "refresh-123" not in repr(idp)


def test_empty_entry_left_by_a_credential_store_login_is_anonymous(docker_config):
    _write(docker_config, {"auths": {HOST: {}}})
    assert lookup_credentials(HOST, None) is None


# -- containers' auth.json and REGISTRY_AUTH_FILE ---------------------------------------------


def test_registry_auth_file_wins_over_docker_config(docker_config, tmp_path, monkeypatch):
    _write(docker_config, {"auths": {HOST: {"auth": _auth("docker-user", "x")}}})
    auth_file = tmp_path / "auth.json"
    _write(auth_file, {"auths": {HOST: {"auth": _auth("podman-user", SECRET)}}})
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(auth_file))
    assert lookup_credentials(HOST, None).username == "podman-user"
    # A host that file does not know falls through to docker's config.
    _write(docker_config, {"auths": {"other.example.com": {"auth": _auth("docker-user", "x")}}})
    assert lookup_credentials("other.example.com", None).username == "docker-user"


def test_registry_auth_file_that_does_not_exist_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(tmp_path / "missing.json"))
    with pytest.raises(BadInputError, match=r"REGISTRY_AUTH_FILE names .*missing\.json.*fix or unset it"):
        lookup_credentials(HOST, None)


def test_containers_auth_json_runtime_dir_before_config_dir(isolated_home, tmp_path, monkeypatch):
    config_file = isolated_home / "config" / "containers" / "auth.json"  # $XDG_CONFIG_HOME
    _write(config_file, {"auths": {HOST: {"auth": _auth("config-user", SECRET)}}})
    assert lookup_credentials(HOST, None).username == "config-user"
    runtime = tmp_path / "run"
    _write(runtime / "containers" / "auth.json", {"auths": {HOST: {"auth": _auth("runtime-user", SECRET)}}})
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    assert lookup_credentials(HOST, None).username == "runtime-user"


def test_containers_auth_json_under_home_without_xdg_config_home(isolated_home, monkeypatch):
    monkeypatch.delenv("XDG_CONFIG_HOME")
    _write(isolated_home / ".config" / "containers" / "auth.json", {"auths": {HOST: {"auth": _auth("u", SECRET)}}})
    assert lookup_credentials(HOST, None).username == "u"


# -- malformed files ---------------------------------------------------------------------------


def test_malformed_json_names_the_file_and_never_the_secret(docker_config):
    _write(docker_config, '{"auths": {"%s": {"auth": "%s"}}' % (HOST, _auth("alice", SECRET)))  # missing brace
    with pytest.raises(BadInputError) as caught:
        lookup_credentials(HOST, None)
    message = str(caught.value)
    assert str(docker_config) in message and "not valid JSON" in message
    assert SECRET not in message and _auth("alice", SECRET) not in message
    assert "\n" not in message


@pytest.mark.parametrize("doc, says", [
    ({"auths": []}, "'auths' must be an object"),
    ({"auths": {HOST: "alice:secret"}}, f"entry for {HOST}"),
    ({"auths": {HOST: {"auth": "%%%not-base64"}}}, f"'auth' for {HOST} is not base64"),
    ({"auths": {HOST: {"auth": base64.b64encode(b"no-colon").decode()}}}, f"'auth' for {HOST} is not base64"),
    ({"auths": {HOST: {"auth": 42}}}, "must be a string"),
    ([1, 2], "must hold a JSON object"),
])
def test_malformed_entries_are_clear_errors(docker_config, doc, says):
    _write(docker_config, doc)
    with pytest.raises(BadInputError, match=r"credentials file .*config\.json") as caught:
        lookup_credentials(HOST, None)
    assert says in str(caught.value)
    assert "%%%not-base64" not in str(caught.value)


# -- credential helpers ------------------------------------------------------------------------


def test_creds_store_helper_is_asked_with_the_host_on_stdin(docker_config, helper_dir, monkeypatch):
    monkeypatch.setenv("FAKE_HELPER_KNOWS", json.dumps({HOST: ["helper-user", SECRET]}))
    _write(docker_config, {"auths": {HOST: {}}, "credsStore": "test"})
    found = lookup_credentials(HOST, None)
    assert (found.username, found.password, found.source) == ("helper-user", SECRET, "docker-credential-test")
    assert (helper_dir / "asked.log").read_text() == f"get {HOST}\n"


def test_creds_store_helper_asked_for_docker_hub_under_its_login_key(docker_config, helper_dir, monkeypatch):
    monkeypatch.setenv("FAKE_HELPER_KNOWS", json.dumps({"https://index.docker.io/v1/": ["hub", SECRET]}))
    _write(docker_config, {"credsStore": "test"})
    assert lookup_credentials("registry-1.docker.io", None).username == "hub"


def test_helper_that_does_not_know_the_host_leaves_the_other_sources(docker_config, helper_dir, monkeypatch):
    monkeypatch.setenv("FAKE_HELPER_KNOWS", "{}")
    _write(docker_config, {"credsStore": "test"})
    assert lookup_credentials(HOST, None) is None
    _write(docker_config, {"credsStore": "test", "auths": {HOST: {"auth": _auth("file-user", SECRET)}}})
    assert lookup_credentials(HOST, None).username == "file-user"


def test_cred_helpers_per_host_win_over_creds_store(docker_config, helper_dir, monkeypatch):
    monkeypatch.setenv("FAKE_HELPER_KNOWS", json.dumps({HOST: ["per-host", SECRET]}))
    _write(docker_config, {"credsStore": "not-installed", "credHelpers": {HOST: "test"}})
    assert lookup_credentials(HOST, None).username == "per-host"


def test_helper_identity_token_answer(docker_config, helper_dir, monkeypatch):
    monkeypatch.setenv("FAKE_HELPER_KNOWS", json.dumps({HOST: ["<token>", "refresh-from-helper"]}))
    _write(docker_config, {"credsStore": "test"})
    found = lookup_credentials(HOST, None)
    assert found.identity_token == "refresh-from-helper" and found.password == ""


def test_missing_helper_binary_is_named(docker_config):
    _write(docker_config, {"credsStore": "nope-not-installed"})
    with pytest.raises(BadInputError) as caught:
        lookup_credentials(HOST, None)
    assert "docker-credential-nope-not-installed is not on PATH" in str(caught.value)
    assert str(docker_config) in str(caught.value)


def test_failing_helper_is_a_store_error_with_its_first_line(docker_config, helper_dir, monkeypatch):
    broken = helper_dir / "docker-credential-broken"
    broken.write_text("#!/bin/sh\necho 'keychain is locked' >&2\nexit 3\n")
    broken.chmod(0o755)
    _write(docker_config, {"credsStore": "broken"})
    with pytest.raises(StoreError, match="docker-credential-broken failed for .*: keychain is locked: "
                                         "fix the helper, or log in again"):
        lookup_credentials(HOST, None)


def test_helper_answering_garbage_is_a_store_error(docker_config, helper_dir):
    odd = helper_dir / "docker-credential-odd"
    odd.write_text("#!/bin/sh\necho 'hello'\n")
    odd.chmod(0o755)
    _write(docker_config, {"credsStore": "odd"})
    with pytest.raises(StoreError, match="docker-credential-odd answered .* something other than its JSON"):
        lookup_credentials(HOST, None)


# -- end to end against the real registry ------------------------------------------------------


@pytest.mark.registry
def test_credentials_from_a_helper_open_a_basic_auth_registry(registry_basic_auth, docker_config, helper_dir,
                                                              monkeypatch):
    server = registry_basic_auth
    monkeypatch.setenv("FAKE_HELPER_KNOWS", json.dumps({server.host: [server.username, server.password]}))
    _write(docker_config, {"credsStore": "test"})
    credentials = lookup_credentials(server.url, SourceOptions())
    with httpx.Client(auth=RegistryAuth(credentials)) as client:
        assert client.get(f"{server.url}/v2/_catalog").json() == {"repositories": []}


@pytest.mark.registry
def test_credentials_from_docker_config_open_a_basic_auth_registry(registry_basic_auth, docker_config):
    server = registry_basic_auth
    _write(docker_config, {"auths": {f"http://{server.host}/v1/": {"auth": _auth(server.username, server.password)}}})
    with httpx.Client(auth=RegistryAuth(lookup_credentials(server.host, None))) as client:
        assert client.get(f"{server.url}/v2/_catalog").status_code == 200


def test_credentials_repr_hides_secrets():
    credentials = Credentials("alice", SECRET, identity_token="refresh-secret", source="x")
    assert SECRET not in repr(credentials) and "refresh-secret" not in repr(credentials)
    assert SECRET not in str(credentials) and "alice" in repr(credentials)
