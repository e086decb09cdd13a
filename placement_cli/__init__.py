"""The `placement` command line: the core's commands and the service's, in one app (`placement_cli.app`).

Kept out of `matcher/` so that the core imports no user-interface library (typer, rich).
"""

from placement_cli.app import app

__all__ = ["app"]
