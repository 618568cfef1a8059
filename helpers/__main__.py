"""``python -m helpers ...``: see :mod:`helpers.cli`."""

if __name__ == "__main__":
    from .cli import main

    raise SystemExit(main())
