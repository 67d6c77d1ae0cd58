"""The command-line program: one thin file per subcommand; main.py only registers them."""
