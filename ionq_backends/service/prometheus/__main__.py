"""Prints the directory of the shipped Prometheus, Alertmanager and Grafana files."""

from . import DIRECTORY

print(DIRECTORY)
