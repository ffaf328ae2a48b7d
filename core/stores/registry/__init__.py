"""Live registries over the OCI Distribution API.

    endpoint.py     SOURCE text -> scheme, host and port
    credentials.py  where a host's credentials come from (docker/podman files, --username)
    auth.py         answering 401 challenges (Basic, Bearer tokens)
    transport.py    the HTTP client: retries, backoff, and one-line messages for failures
    fast_path.py    the hot manifest GETs over http.client, one keep-alive connection per thread
    answers.py      HTTP statuses and network errors as messages a user can act on
    cache.py        manifests on disk by digest, in SQLite (content by digest never changes)
    journal.py      what a cut-off deletion may have left where the API cannot see it
    artifacts.py    manifest bytes -> core.model.Artifact
    loader.py       concurrent walk: catalog, tags, manifests, children, referrers
    store.py        RegistryStore and its deletion session
"""
