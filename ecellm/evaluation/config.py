"""``EvalConfig``: every option of an evaluation run, in one documented dataclass, declared once.

Each field is an :func:`ecellm.options.option`: its default, help text, type (``Literal[...]`` for a fixed set of
choices) and check. ``ecellm eval``'s flags are generated from the fields (:func:`ecellm.options.add_flags`:
same help, default, choices and parse-time check), :func:`~ecellm.evaluation.validate.validate_eval_options`
runs the same checks on the config, and ``tests/test_options.py`` keeps them from drifting apart.
:class:`ModelOptions` holds the options ``ecellm eval``, ``ecellm predict`` and ``ecellm serve`` share (the model
and how it decodes; ``ecellm.inference.config`` builds the predict/serve configs on it), :class:`ResultsOptions`
those ``ecellm eval`` and ``ecellm score`` share (readings, bootstrap, encoder, what is shown;
``ecellm.evaluation.score_file.ScoreOptions`` builds on it).

``ecellm eval`` builds the config from its flags (:meth:`EvalConfig.from_args`) and, with
``--eval-config FILE``, from a YAML file of the same names (unknown keys fail, as a training recipe's do; flags
given on the command line win over the file). The Python API builds it from keywords
(:meth:`EvalConfig.from_kwargs`). ``results.json`` records it whole (``asdict``), so a run says exactly how it
was made.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Literal

from ecellm.engines.generation_settings import GenerationSettings
from ecellm.engines.methods import MethodName
from ecellm.evaluation.checks import (
    check_at_least_one,
    check_confidence,
    check_device,
    check_dtype,
    check_folder,
    check_temperature,
    check_top_p,
)
from ecellm.evaluation.errors import EvaluationError
from ecellm.options import option

# The choices of the fields typed with them (argparse choices, and ``check_fields`` on a config built in Python).
# The engine registry owns the backends (``ecellm.engines.engine_names()``) and ``ecellm.engines.methods`` the
# methods; a Literal must be spelled out, so tests/test_options.py keeps these equal to them.
EvalMethod = MethodName
Backend = Literal["transformers", "vllm", "openai"]
PromptFormat = Literal["auto", "alpaca", "mistral", "chat"]  # auto = None: the model's own (recorded)


@dataclass
class ModelOptions:
    """The options shared by ``ecellm eval``, ``ecellm predict`` and ``ecellm serve``: the model and how it runs."""

    model: str | None = option(None, "Hub id or folder: full model, merged model or PEFT adapter (required; "
                                     "`ecellm eval` also takes it from --eval-config).")
    revision: str | None = option(None, "Hub revision of the model.")
    prompt_format: PromptFormat | None = option(
        None, "auto, alpaca, mistral or chat (default auto: the training summary's; the paper's template for eCeLLM "
              "and Mistral models; chat when the tokenizer has a chat template; else alpaca).")
    max_new_tokens: int | None = option(None, "New-token budget of an answer (default: the task's, 100).",
                                        check=check_at_least_one)
    batch_size: int = option(16, "Rows decoding together (continuous batching refills a finished row's place).",
                             check=check_at_least_one)
    threads: int | None = option(None, "CPU threads for torch (default: torch's choice; at most the machine's CPUs).",
                                 check=check_at_least_one)
    device: str | None = option(None, "cpu, cuda, cuda:1 ... (default: cuda when available).", check=check_device)
    dtype: str | None = option(None, "float32, bfloat16, float16 (default: float32 on CPU, bfloat16 on GPU).",
                               check=check_dtype)


@dataclass
class ResultsOptions:
    """How answers are read, scored and shown: the options ``ecellm eval`` and ``ecellm score`` share."""

    config: str = option("default", "Dataset config: default (Tables 2-3), unseen_instruction (Table 4), one_shot, "
                                    "single_instruction, or a task code.")
    qpr_labels: str | None = option(None, "Official QPR label file, for data built from the published file without it.")
    modes: str = option("strict,reference,flexible", "Answer readings: strict (exact format), reference (the paper's "
                                                     "evaluator), flexible (the answer found in a chatty output); "
                                                     "comma-separated.")
    n_resamples: int = option(1000, "Bootstrap resamples for the confidence intervals.", check=check_at_least_one)
    confidence: float = option(0.95, "Confidence level of the intervals, in (0, 1).", check=check_confidence)
    bertscore_model: str | None = option("auto", "AG encoder: auto, paper (roberta-large), offline (MiniLM wheel) or "
                                                 "a model path.")
    bertscore_layers: int | None = option(None, "Encoder layer for BERTScore (for a custom model).",
                                          check=check_at_least_one)
    show_published: bool = option(True, "Show published numbers beside the results; --no-published shows none.",
                                  flag="--no-published")
    chart: bool = option(True, "Write results.png; --no-chart skips it.", flag="--no-chart")


@dataclass
class EvalConfig(ResultsOptions, ModelOptions):
    """The options of one ``ecellm eval`` run (the model and data included). Engine options of vLLM and of an
    OpenAI-compatible server are their own dataclasses (``VllmOptions``, ``OpenAIOptions``)."""

    data: str = option("NingLab/ECInstruct", "ECInstruct source: Hub id, dataset.json, or built folder.")
    tasks: str = option("all", "Comma-separated task codes, or 'all'.")
    splits: str = option("test_ind,test_ood", "Comma-separated splits: test_ind, test_ood, validation.")
    out: str | None = option(None, "Output folder (results.json/.md/.png, samples/, cache/).", check=check_folder)
    cache_dir: str | None = option(None, "Prediction cache folder (default: <out>/cache; with neither, none).",
                                   check=check_folder)
    system_prompt: str | None = option(None, "System message for the chat prompt format.")
    method: EvalMethod = option(
        "generate", "generate: free generation (the paper's way); constrained: the decoder may only produce a valid "
                    "answer; loglik: closed-answer tasks pick the most likely candidate (AVE, AG generate).")
    sample: bool = option(False, "The reference's LoRA-path sampling (T=0.15, top-p 0.95) instead of greedy "
                                 "decoding.")
    temperature: float | None = option(None, "Sampling temperature (implies --sample).", check=check_temperature)
    top_p: float | None = option(None, "Sampling top-p (implies --sample).", check=check_top_p)
    seed: int = option(0, "Sampling and bootstrap seed.")
    stop_at_marker: bool = option(True, "Stop a row at a repeated response marker; --no-stop-at-marker generates past "
                                        "it (scores are the same; raw logs get longer).", flag="--no-stop-at-marker")
    checkpoint_every: int | None = option(None, "Prompts per cache append, i.e. what a kill may lose (default: 4 x "
                                                "batch size).", check=check_at_least_one)
    backend: Backend = option("transformers", "Engine: transformers, vllm or openai (an OpenAI-compatible server; "
                                              "see the groups below).")
    tokenizer: str | None = option(None, "Tokenizer of a served model (--backend openai): a local/Hub tokenizer for "
                                         "context checks and chat templates; optional.")
    max_samples: int | None = option(None, "Evaluate only the first N rows per task and split.",
                                     check=check_at_least_one)
    published: str | None = option(None, "JSON with published numbers to show (default: the paper's eCeLLM "
                                         "numbers).")
    progress: bool = option(True, "Show progress bars; --no-progress hides them.", flag="--no-progress")

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
        """A config from a YAML file of option names (unknown keys fail; the values are checked with the rest of
        the config by ``validate_eval_options``)."""
        import yaml

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
        unknown = sorted(str(k) for k in data if k not in {f.name for f in fields(cls)})
        if unknown:
            raise EvaluationError(f"--eval-config {path}: unknown option(s) {', '.join(unknown)}. Expected the names "
                                  "of `ecellm eval`'s flags, with underscores (e.g. max_samples)")
        for name in ("tasks", "splits", "modes"):  # a YAML list reads as the comma list the flag takes
            if isinstance(data.get(name), list):
                data[name] = ",".join(map(str, data[name]))
        return cls(**data)

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


