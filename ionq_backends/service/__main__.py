"""`python -m ionq_backends.service`: the same as `ionq-backends serve`."""

from .cli import main

raise SystemExit(main())
