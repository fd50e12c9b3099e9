"""What a team deploys beside `serve`: Prometheus' scrape config and alert rules, an
Alertmanager route and a Grafana dashboard, as files in this directory.

`python -m ionq_backends.service.prometheus` prints the directory, for command lines.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["ALERTMANAGER", "DASHBOARD", "DIRECTORY", "PROMETHEUS", "RULES"]

DIRECTORY = Path(__file__).parent
PROMETHEUS = DIRECTORY / "prometheus.yml"  # scrapes 127.0.0.1:8080 as job "ionq-fleet"
RULES = DIRECTORY / "alerts.yml"
ALERTMANAGER = DIRECTORY / "alertmanager.yml"
DASHBOARD = DIRECTORY / "grafana-dashboard.json"
