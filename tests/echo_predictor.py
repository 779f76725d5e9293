"""A stand-in for the model behind ``ecellm serve``: it answers every item as invalid, so a test exercises the
HTTP layer's own checks (bodies, paths, status codes) without loading a model."""

from __future__ import annotations

from types import SimpleNamespace


class EchoPredictor:
    def describe(self) -> dict:
        return {}

    def prepare(self, task, values):
        return task

    def run(self, items):
        return [SimpleNamespace(to_dict=lambda t=t: {"task": t.code, "result": None, "valid": False, "raw": "",
                                                     "answer": "", "method": "generate"}) for t in items]
