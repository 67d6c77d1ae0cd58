"""`python -m tunesmith ...` (and `torchrun ... -m tunesmith train ...`): the `tunesmith` command."""

from tunesmith.cli.main import main

if __name__ == "__main__":
    main()
