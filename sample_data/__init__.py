"""The bundled demo registry and the tools that build registries for demos, tests and benchmarks."""

from pathlib import Path

DEMO_PATH = Path(__file__).with_name("demo.json")
