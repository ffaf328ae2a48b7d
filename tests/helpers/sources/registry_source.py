"""A live registry as a source: a fresh docker-registry per test, with the builder's content pushed.

A fresh server (about 0.05 s to start) keeps the scenarios' fixed repository names apart."""

from tests.helpers.registry_push import push_builder


def make_source(builder, tmp_path, request) -> str:
    server = request.getfixturevalue("registry_factory")()
    push_builder(builder, server.url)
    return server.url
