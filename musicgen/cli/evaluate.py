"""musicgen evaluate commands (registered on musicgen.cli.app.app)."""
