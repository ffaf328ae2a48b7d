"""What tests share: loopback servers (docker-registry, token server, fault proxy), fakes, builders."""
