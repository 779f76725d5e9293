"""Constrained decoding for the transformers backend, with xgrammar (the structured-generation library vLLM
uses by default): a grammar matcher per row masks the logits of every step to the tokens that keep the text
inside its :class:`~ecinstruct.answers.Constraint`, and only EOS once the answer is complete.

Choice lists compile to an EBNF alternation of string literals, regexes and JSON schemas to xgrammar's own
grammars. Compiled grammars are memoised per constraint (a task's rows share one or a few).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import torch

from ecinstruct.answers.constraint import Constraint


def _literal(text: str) -> str:
    """An EBNF string literal (JSON escapes are valid there)."""
    return json.dumps(text, ensure_ascii=False)


class GrammarGuide:
    """Per-row grammar state for :func:`ecellm.engines.decode.decode` (``mask`` before each pick,
    ``accept`` after it); rows without a constraint decode freely."""

    def __init__(self, tokenizer, vocab_size: int, eos_ids: set[int], constraints: Sequence[Constraint | None],
                 memo: dict | None = None):
        try:
            import xgrammar as xgr
        except ImportError:
            from ecellm.evaluation.errors import EvaluationError

            raise EvaluationError("constrained decoding needs the xgrammar package: pip install xgrammar") from None
        self.xgr = xgr
        # ``memo`` (kept by the backend across calls) holds the compiler and compiled grammars: building the
        # tokenizer info takes seconds, which a server would otherwise pay on every batch.
        memo = {} if memo is None else memo
        if "compiler" not in memo:
            info = xgr.TokenizerInfo.from_huggingface(tokenizer, vocab_size=vocab_size,
                                                      stop_token_ids=sorted(eos_ids))
            memo["compiler"], memo["grammars"] = xgr.GrammarCompiler(info, max_threads=1), {}
        self.compiler = memo["compiler"]
        compiled: dict[Constraint, object] = memo["grammars"]
        self.matchers = []
        for constraint in constraints:
            if constraint is None:
                self.matchers.append(None)
                continue
            if constraint not in compiled:
                compiled[constraint] = self._compile(constraint)
            self.matchers.append(xgr.GrammarMatcher(compiled[constraint]))
        self.vocab_size = vocab_size
        self.bitmask = xgr.allocate_token_bitmask(1, vocab_size)

    def _compile(self, constraint: Constraint):
        if constraint.choices is not None:
            return self.compiler.compile_grammar("root ::= " + " | ".join(_literal(c) for c in constraint.choices))
        if constraint.regex is not None:
            return self.compiler.compile_regex(constraint.regex)
        return self.compiler.compile_json_schema(constraint.json_schema, any_whitespace=False)

    def mask(self, logits: torch.Tensor, rows: Sequence[int]) -> torch.Tensor:
        """``logits`` (one line per row of ``rows``) with every disallowed token at -inf."""
        for line, row in enumerate(rows):
            matcher = self.matchers[row]
            if matcher is None:
                continue
            matcher.fill_next_token_bitmask(self.bitmask, 0)
            view = logits[line : line + 1, : self.vocab_size]
            self.xgr.apply_token_bitmask_inplace(view, self.bitmask.to(view.device))
            if logits.shape[-1] > self.vocab_size:  # padded vocabulary columns are never allowed
                logits[line, self.vocab_size :] = float("-inf")
        return logits

    def accept(self, row: int, token: int) -> None:
        matcher = self.matchers[row]
        if matcher is not None and not matcher.is_terminated():
            matcher.accept_token(token)

    def complete(self, row: int) -> bool:
        """Whether the row's answer is complete (its grammar accepts nothing but EOS)."""
        matcher = self.matchers[row]
        return matcher is not None and matcher.is_terminated()
