"""The `face` command line: one module per command (`main` parses and runs them; `args` holds the option checks).

The CLI layer may import every other layer (docs/architecture.md); nothing but the package root and
`__main__` imports it.
"""
