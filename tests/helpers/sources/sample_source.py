def make_source(builder, tmp_path, request) -> str:
    return str(builder.write_sample(tmp_path / "registry.json"))
