"""What an answer to a task may be: the closed candidate set, the decoding constraint, the flexible reading.

Every task's scorer answers three questions about one row (no code branches on task names):

- ``candidates(row)``: the closed set of gold-form answers (``None`` for open answers: AVE, AG). The
  log-likelihood method scores each candidate after the prompt; ``answer_from_scores`` turns the scores
  into an answer (the best candidate; QPR: every product letter, best first).
- ``constraint(row)``: a :class:`Constraint` that a constrained decoder must satisfy (a choice list, a
  regular expression, or a JSON schema); ``None`` means free generation.
- ``extract(text, row)``: the *flexible* reading, which finds the answer in a chatty output and returns it in
  the strict form (or ``None`` when no answer is there). The rules per family live in
  :mod:`ecinstruct.answers.flexible`.
"""

from ecinstruct.answers.constraint import Constraint, LogLik

__all__ = ["Constraint", "LogLik"]
