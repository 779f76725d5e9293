"""``EvalConfig``: every option of an evaluation run, in one documented dataclass.

``ecellm eval`` builds it from its flags (:meth:`EvalConfig.from_args`) and, with ``--eval-config FILE``, from a
YAML file read by ``transformers.HfArgumentParser`` (unknown keys fail, as a training recipe's do; flags given on
the command line win over the file). The Python API builds it from keywords (:meth:`EvalConfig.from_kwargs`).
``results.json`` records it whole (``asdict``), so a run says exactly how it was made.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from ecellm.engines.generation_settings import GenerationSettings
from ecellm.evaluation.errors import EvaluationError


def _opt(default: Any, help: str) -> Any:
    return field(default=default, metadata={"help": help})


@dataclass
class EvalConfig:
    """The options of one ``ecellm eval`` run (the model and data included). Engine options of vLLM and of an
    OpenAI-compatible server are their own dataclasses (``VllmOptions``, ``OpenAIOptions``)."""

    model: str | None = _opt(None, "Hub id or folder: full model, merged model, or PEFT adapter.")
    data: str = _opt("NingLab/ECInstruct", "ECInstruct source: Hub id, dataset.json, or built folder.")
    config: str = _opt("default", "Dataset config: default (Tables 2-3), unseen_instruction (Table 4), one_shot, "
                                  "single_instruction, or a task code.")
    tasks: str = _opt("all", "Comma-separated task codes, or 'all'.")
    splits: str = _opt("test_ind,test_ood", "Comma-separated splits: test_ind, test_ood, validation.")
    out: str | None = _opt(None, "Output folder (results.json/.md/.png, samples/, cache/).")
    cache_dir: str | None = _opt(None, "Prediction cache folder (default: <out>/cache; with neither, none).")
    prompt_format: str | None = _opt(None, "alpaca, mistral, chat, or auto/None: the model's default (recorded).")
    system_prompt: str | None = _opt(None, "System message for the chat prompt format.")
    method: str = _opt("generate", "generate (free generation), constrained (only valid answers can be decoded) or "
                                   "loglik (closed-answer tasks pick the most likely candidate).")
    qpr_labels: str | None = _opt(None, "Official QPR label file, for data built from the published file without it.")
    max_new_tokens: int | None = _opt(None, "New-token budget (default: the task's, 100).")
    sample: bool = _opt(False, "The reference's sampling (T=0.15, top-p 0.95) instead of greedy decoding.")
    temperature: float | None = _opt(None, "Sampling temperature (implies sample).")
    top_p: float | None = _opt(None, "Sampling top-p (implies sample).")
    seed: int = _opt(0, "Sampling and bootstrap seed.")
    stop_at_marker: bool = _opt(True, "Stop a row at a repeated response marker (scores are the same either way).")
    batch_size: int = _opt(16, "Rows decoding together (continuous batching refills a finished row's place).")
    checkpoint_every: int | None = _opt(None, "Prompts per cache append (default 4 x batch_size): what a kill loses.")
    threads: int | None = _opt(None, "CPU threads for torch (default: torch's choice).")
    backend: str = _opt("transformers", "transformers, vllm or openai.")
    device: str | None = _opt(None, "cpu, cuda, cuda:1 ... (default: cuda when available).")
    dtype: str | None = _opt(None, "float32, bfloat16, float16 (default: float32 on CPU, bfloat16 on GPU).")
    revision: str | None = _opt(None, "Hub revision of the model.")
    tokenizer: str | None = _opt(None, "For a server model: a local/Hub tokenizer (context checks, chat templates).")
    max_samples: int | None = _opt(None, "Evaluate only the first N rows per task and split.")
    modes: str = _opt("strict,reference,flexible", "Answer readings, comma-separated: strict, reference, flexible.")
    n_resamples: int = _opt(1000, "Bootstrap resamples for the confidence intervals.")
    confidence: float = _opt(0.95, "Confidence level of the intervals.")
    bertscore_model: str | None = _opt("auto", "AG encoder: auto, paper (roberta-large), offline (MiniLM) or a path.")
    bertscore_layers: int | None = _opt(None, "Encoder layer for BERTScore (for a custom model).")
    published: str | None = _opt(None, "JSON with published numbers to show (default: the paper's eCeLLM numbers).")
    show_published: bool = _opt(True, "Show published numbers beside the results.")
    chart: bool = _opt(True, "Write results.png.")
    progress: bool = _opt(True, "Show progress bars.")

    @classmethod
    def from_kwargs(cls, **options: Any) -> EvalConfig:
        """A config from :func:`ecellm.evaluate` keywords (``published=False`` = show none); one clear error
        naming an unknown keyword."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(options) - names)
        if unknown:
            raise EvaluationError(f"unknown evaluation option(s) {', '.join(unknown)}; expected some of: "
                                  f"{', '.join(sorted(names))}")
        if options.get("published") is False:
            options = {**options, "published": None, "show_published": False}
        elif options.get("published") is True:
            options = {**options, "published": None}
        for name in ("tasks", "splits", "modes"):  # the API also takes sequences
            if name in options and not isinstance(options[name], str | None):
                options[name] = ",".join(options[name])
        return cls(**{k: str(v) if isinstance(v, Path) else v for k, v in options.items()})

    @classmethod
    def from_yaml(cls, path: str | Path) -> EvalConfig:
        """A config from a YAML file, through ``HfArgumentParser`` (unknown keys fail)."""
        import yaml
        from transformers import HfArgumentParser

        expected = ("expected a YAML mapping of evaluation options (the names of `ecellm eval`'s flags, with "
                    "underscores)")
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise EvaluationError(f"--eval-config {path}: no such file; {expected}") from None
        except IsADirectoryError:
            raise EvaluationError(f"--eval-config {path} is a folder; {expected}") from None
        except UnicodeDecodeError:
            raise EvaluationError(f"--eval-config {path}: not UTF-8 text; {expected}") from None
        except yaml.YAMLError as err:
            where = getattr(err, "problem_mark", None)
            line = f" line {where.line + 1}" if where is not None else ""
            problem = getattr(err, "problem", None) or err
            raise EvaluationError(f"--eval-config {path}{line}: not valid YAML ({problem}); {expected}") from None
        if not isinstance(data, dict):
            held = type(data).__name__ if data is not None else "nothing"
            raise EvaluationError(f"--eval-config {path}: holds {held}; {expected}")
        try:
            (config,) = HfArgumentParser(cls).parse_dict(data, allow_extra_keys=False)
        except (ValueError, TypeError) as err:
            raise EvaluationError(f"--eval-config {path}: {err}. Expected the names of `ecellm eval`'s flags, "
                                  "with underscores") from None
        return config

    @classmethod
    def from_args(cls, args: Any, explicit: set[str] | None = None) -> EvalConfig:
        """A config from parsed ``ecellm eval`` flags (their destinations are the field names); with
        ``args.eval_config``, the file's values where no flag was given (``explicit``: the flags given)."""
        values = {f.name: getattr(args, f.name) for f in fields(cls) if hasattr(args, f.name)}
        base = cls.from_yaml(args.eval_config) if getattr(args, "eval_config", None) else None
        if base is not None:
            values = {**asdict(base), **{k: v for k, v in values.items() if explicit is None or k in explicit}}
        if values.get("prompt_format") == "auto":
            values["prompt_format"] = None
        if not values.get("model"):
            raise EvaluationError("no model: pass --model (or `model:` in --eval-config)")
        return cls(**values)

    def generation(self) -> GenerationSettings:
        """The decoding settings: greedy, or the reference's sampling (with any temperature/top-p given)."""
        if self.sample or self.temperature is not None or self.top_p is not None:
            return GenerationSettings.reference_sampling(seed=self.seed, stop_at_marker=self.stop_at_marker) \
                .with_overrides(temperature=self.temperature, top_p=self.top_p, max_new_tokens=self.max_new_tokens)
        return GenerationSettings(seed=self.seed, max_new_tokens=self.max_new_tokens,
                                  stop_at_marker=self.stop_at_marker)

    def published_source(self) -> str | bool | None:
        """What :func:`ecellm.evaluation.paper_scores.load_published` reads: False = none."""
        return self.published if self.show_published else False


