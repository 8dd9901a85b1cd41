"""Sloth reads label values as text: booleans and numbers become strings, as in its golden
files (``generated: "true"``, ``actual_le: "0.2"``); OpenSLO labels stay strictly strings."""

from __future__ import annotations

import pytest

from opsloop.slo.spec import parse_documents
from opsloop.slo.spec.checks import SpecError

SLOTH = """
version: "prometheus/v1"
service: "payments-api"
labels:
  generated: true
  disabled: false
slos:
  - name: "latency"
    objective: 99
    labels:
      actual_le: 0.2
      replicas: 3
    sli:
      raw:
        error_ratio_query: sum(rate(errors[{{.window}}])) / sum(rate(total[{{.window}}]))
    alerting:
      name: PaymentsLatency
"""


def test_sloth_bool_and_number_labels_become_text() -> None:
    [defn] = parse_documents(SLOTH)
    assert dict(defn.labels) == {
        "generated": "true",
        "disabled": "false",
        "actual_le": "0.2",
        "replicas": "3",
    }


def test_openslo_labels_stay_strict() -> None:
    text = """
apiVersion: openslo/v1
kind: SLO
metadata:
  name: availability
  labels:
    generated: true
spec:
  service: checkout
  indicator:
    spec:
      ratioMetric:
        counter: true
        bad:
          metricSource:
            type: Prometheus
            spec:
              query: sum(rate(errors[$window]))
        total:
          metricSource:
            type: Prometheus
            spec:
              query: sum(rate(total[$window]))
  timeWindow:
    - duration: 30d
      isRolling: true
  budgetingMethod: Occurrences
  objectives:
    - target: 0.999
"""
    with pytest.raises(SpecError, match=r"metadata\.labels\.generated: expected a string"):
        parse_documents(text)
