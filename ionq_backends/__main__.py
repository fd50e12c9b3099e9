"""`python -m ionq_backends`: the same as the `ionq-backends` command."""

from ._cli import main

raise SystemExit(main())
