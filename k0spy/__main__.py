"""`python -m k0spy` is the same program as the `k0spy` console script."""

from k0spy.cli.main import main

if __name__ == "__main__":
    main()
