from placement_cli.app import app

app(prog_name="placement")
