"""One `placement` app composed of the core's commands and the service's; neither adds itself to the other."""

from __future__ import annotations

import typer

from placement_cli import core_commands, service_commands

app = typer.Typer(help="Match participants to work-training slots at social enterprises.", no_args_is_help=True)
app.add_typer(core_commands.app)  # without a name: check, solve, candidates, suggest, generate at the top level
app.add_typer(service_commands.app)  # serve, user …, db …
