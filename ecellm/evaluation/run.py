"""``evaluate()``: data → prompts → cached/batched engine calls (generation, constrained generation or
log-likelihood) → scores in every reading → files."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ecellm.engines.generation_settings import GenerationSettings, settings_hash, text_key
from ecellm.engines.methods import Method
from ecellm.engines.model_loader import ModelSpec, pick_device, pick_dtype
from ecellm.engines.prompt_formats import adds_special_tokens, choose_prompt_format, render_prompt, user_turn
from ecellm.engines.registry import get_engine
from ecellm.evaluation.cache import PredictionCache
from ecellm.evaluation.config import EvalConfig
from ecellm.evaluation.data import data_name, load_data, parse_splits, parse_tasks, select_rows
from ecellm.evaluation.distributed import current_ranks, launcher_ranks
from ecellm.evaluation.errors import EvaluationError
from ecellm.evaluation.generate import GenerationStats, Job, merge_stats, run_jobs, run_loglik_jobs
from ecellm.evaluation.paper_scores import Published, load_published
from ecellm.evaluation.results import Results
from ecellm.evaluation.scoring import (
    MODES,
    Encoder,
    MemoPairScorer,
    ScoringOptions,
    answer,
    check_encoder_reachable,
    option_labels,
    resolve_encoder,
    score_rows,
)
from ecellm.evaluation.validate import release_locks, validate_eval_options
from ecinstruct.tasks import get_task

logger = logging.getLogger(__name__)
CHECKPOINT_BATCHES = 4  # default prompts per cache append, in batch sizes: longer chunks keep the batch full
# Constrained JSON (AVE) may need more tokens than the paper's 100 to close its brackets; its schema bounds it.
CONSTRAINED_JSON_BUDGET = 256


def evaluate(model: str | Path | None = None, data: Any = None, *, run_config: EvalConfig | None = None,
             generation: GenerationSettings | None = None, engine: Any = None, **options: Any) -> Results | None:
    """Evaluate a model on ECInstruct test sets: ``evaluate(run_config=EvalConfig(...))``, or the same options as
    keywords (``evaluate(model, data, tasks="PM", out=...)``); every option is documented on
    :class:`~ecellm.evaluation.config.EvalConfig` and in ``ecellm eval --help``.

    Args:
        model: Hub id or folder (overrides ``run_config.model``).
        data: ECInstruct source (Hub id, ``dataset.json``, built folder; overrides ``run_config.data``) or a
            ``DatasetDict``.
        generation: decoding settings instead of the config's (``GenerationSettings.reference_sampling()``).
        engine: ``VllmOptions`` for ``backend="vllm"`` (defaults when None) or ``OpenAIOptions`` (required for
            ``backend="openai"``; ``model`` is then the server's name for it).

    Under ``accelerate launch``/``torchrun`` the prompts are shared among the processes; only rank 0 scores
    and returns the results, the other ranks return None.
    """
    if run_config is None:
        config = EvalConfig.from_kwargs(**options)  # `config` among them is the dataset config (EvalConfig.config)
    elif options:
        raise EvaluationError("pass the options in run_config or as keywords, not both (got "
                              f"{', '.join(sorted(options))})")
    else:
        config = run_config
    if model is not None:
        config = replace(config, model=str(model))
    if isinstance(data, str | Path):
        config, data = replace(config, data=str(data)), None
    if not config.model:
        raise EvaluationError("no model to evaluate: pass model=... (a Hub id or a folder)")
    try:
        return _run(config, config.data if data is None else data, generation or config.generation(), engine)
    finally:
        release_locks()  # a run that failed half-way must not keep its --out lock (an unclosed file) until exit


def _run(c: EvalConfig, data: Any, settings: GenerationSettings, engine: Any) -> Results | None:
    started = time.perf_counter()
    modes = check_modes(c.modes)
    task_list, explicit = parse_tasks(c.tasks)
    split_list = parse_splits(c.splits)
    backend = get_engine(c.backend)
    options = backend.check_options(engine)  # engine: the backend's options (VllmOptions, OpenAIOptions)
    method = Method.parse(c.method)
    if method not in backend.methods:
        raise EvaluationError(f"--method {method} does not run on --backend {backend.name}; it runs "
                              f"{', '.join(m.value for m in Method if m in backend.methods)}")
    settings = settings.with_overrides(max_new_tokens=c.max_new_tokens)
    guard = validate_eval_options(  # every option, before data, model or generation; holds the --out lock
        c, generation=settings, uses_ag=any(t.scorer.needs_encoder for t in task_list), lock=launcher_ranks().is_main,
        inputs=(data, c.model))
    rows = select_rows(load_data(data, c.config, c.qpr_labels), task_list, explicit, split_list,
                       data_name=data_name(data), config=c.config, max_samples=c.max_samples)
    _check_qpr_labels(rows, data_name(data))
    published_numbers = _published(c.published_source())  # every late-failing input is checked before the engine
    needs_encoder = any(get_task(t).scorer.needs_encoder for t, _ in rows)
    encoder = resolve_encoder(c.bertscore_model, c.bertscore_layers) if needs_encoder else None
    if encoder is not None:
        check_encoder_reachable(encoder)  # offline without it: fail before generating any answer
    spec = backend.model_spec(c.model, revision=c.revision, options=options, tokenizer=c.tokenizer)
    tokenizer = backend.open_tokenizer(spec)
    fmt, fmt_source = choose_prompt_format(spec, c.prompt_format, tokenizer)
    if c.system_prompt is not None and fmt != "chat":
        raise EvaluationError(f"--system-prompt needs the chat prompt format; this run uses {fmt!r}. Add "
                              "--prompt-format chat (the model's tokenizer must have a chat template)")
    ranks = current_ranks()
    device = ranks.device(pick_device(c.device))
    dtype = pick_dtype(c.dtype, device)
    model_id = backend.fingerprint(spec)
    key_parts = {"model": model_id, "prompt_format": fmt, "generation": settings.cache_key(), "backend": backend.name,
                 "dtype": dtype, **({"method": method.value} if method is not Method.GENERATE else {}),
                 **({"system_prompt": c.system_prompt} if c.system_prompt else {})}
    run_hash = settings_hash(**key_parts)
    cache_root = c.cache_dir or (Path(c.out) / "cache" if c.out is not None else None)
    cache = PredictionCache(cache_root, run_hash, {**key_parts, "model_spec": spec.as_dict()}, shard=ranks.shard_name)

    render = (user_turn if backend.sends_user_turn(options, fmt) and c.system_prompt is None
              else lambda r: render_prompt(r, fmt, tokenizer, c.system_prompt))
    prompts = {pair: [render(r) for r in pair_rows] for pair, pair_rows in rows.items()}
    jobs, reused = _pending(rows, prompts, tokenizer, fmt, settings, cache, lambda: backend.context_length(spec),
                            method)
    ranks.barrier()  # every rank has read the cache before any rank appends to it
    stats, generator = GenerationStats(), None
    if jobs:
        _set_threads(c.threads)
        generator = backend.open(spec, settings, fmt, tokenizer, device=device, dtype=dtype, batch_size=c.batch_size,
                                 options=options, needed_len=max(j.n_tokens + j.budget for j in jobs))
        chunk = c.checkpoint_every or CHECKPOINT_BATCHES * c.batch_size
        mine = ranks.take(sorted(jobs, key=lambda j: (-j.n_tokens, j.task, j.split, j.row_id)))
        scored = [j for j in mine if j.candidates is not None]
        stats = run_loglik_jobs(generator, scored, cache, chunk_size=chunk, choose=_choose,
                                progress=c.progress and ranks.is_main)
        generated = run_jobs(generator, [j for j in mine if j.candidates is None], cache, chunk_size=chunk,
                             seed=settings.seed, progress=c.progress and ranks.is_main)
        stats = stats.plus(generated)
    stats = merge_stats(ranks.gather(stats))
    ranks.barrier()  # every shard is complete
    if not ranks.is_main:
        ranks.close()
        return None
    if cache.merge_shards():
        cache = PredictionCache(cache_root, run_hash, {**key_parts, "model_spec": spec.as_dict()})
    ranks.close()
    logger.info("%d prompt(s) run, %d reused from the cache (%s)", stats.prompts, reused,
                cache.folder or "in memory")

    pair_scorer = MemoPairScorer(encoder, progress=c.progress) if encoder else None
    scoring = ScoringOptions(c.n_resamples, c.confidence, c.seed, pair_scorer)
    entries, samples = [], {}
    for (task_code, split), pair_rows in rows.items():
        texts = [cache.load(task_code, split)[r["id"]] for r in pair_rows]
        pair_entries, samples[(task_code, split)] = score_pair(
            task_code, split, pair_rows, prompts[(task_code, split)], texts, fmt, modes, method, scoring)
        entries += pair_entries

    facts = _RunFacts(spec, model_id, fmt, fmt_source, settings, run_hash, backend.name, device, dtype, data,
                      split_list, rows, modes, encoder)
    meta = _meta(c, facts, stats, reused, time.perf_counter() - started, cache)
    meta.update(method=method.value, system_prompt=c.system_prompt, processes=ranks.world,
                engine=generator.describe() if generator is not None else {"name": backend.name, "started": False})
    results = Results(meta=meta, entries=entries, samples=samples, published=published_numbers)
    if c.out is not None:
        results.save(c.out, chart=c.chart)
    if guard is not None:
        guard.release()
    return results


def _set_threads(threads: int | None) -> None:
    if threads:
        import torch

        from ecinstruct.machine import bound_workers

        torch.set_num_threads(bound_workers(threads, "--threads"))


def _check_qpr_labels(rows: dict, name: str) -> None:
    """QPR is scored from each product's ESCI label: refuse before any model work when they are missing."""
    missing = [r["id"] for (task, _), pair_rows in rows.items() if get_task(task).scorer.needs_option_labels
               for r in pair_rows if not r.get("option_labels")]
    if missing:
        raise EvaluationError(f"{len(missing)} QPR row(s) of {name} carry no option labels (e.g. {missing[0]}); QPR "
                              "is scored from the ESCI label of every listed product. Pass the official label file "
                              "with --qpr-labels FILE (data read from the published dataset.json), build the folder "
                              "again with `ecinstruct build --qpr-labels FILE`, or leave QPR out with --tasks")


def _choose(task_code: str, candidates, scores) -> str:
    return get_task(task_code).scorer.answer_from_scores(candidates, scores)


def check_modes(modes: Sequence[str]) -> tuple[str, ...]:
    names = [m.strip() for m in modes.split(",")] if isinstance(modes, str) else list(modes)
    bad = [m for m in names if m not in MODES]
    if bad or not names:
        raise EvaluationError(f"unknown scoring mode(s) {bad or names}; expected some of: {', '.join(MODES)}")
    return tuple(dict.fromkeys(names))


def _pending(rows: dict, prompts: dict, tokenizer: Any, fmt: str, settings: GenerationSettings,
             cache: PredictionCache, context: Callable[[], int | None], method: Method) -> tuple[list[Job], int]:
    """Jobs for rows without a valid cached prediction (prompt lengths checked against ``context()``, the model's
    context length, read only when some row is to run)."""
    jobs, reused = [], 0
    todo = []
    for (task_code, split), pair_rows in rows.items():
        scorer = get_task(task_code).scorer
        for row, prompt in zip(pair_rows, prompts[(task_code, split)], strict=True):
            candidates = scorer.candidates(row) if method.ranks_candidates else None
            constraint = scorer.constraint(row) if method.constrains else None
            budget = settings.budget(get_task(task_code).max_new_tokens)
            if constraint is not None and constraint.kind == "json_schema":
                budget = max(budget, CONSTRAINED_JSON_BUDGET)
            key = text_key(prompt, budget, *(candidates or ()), *(constraint.as_dict().values() if constraint else ()))
            if cache.lookup(task_code, split, row["id"], key) is None:
                todo.append((task_code, split, row["id"], prompt, budget, key, constraint, candidates))
            else:
                reused += 1
    if not todo:
        return jobs, reused
    if tokenizer is None:  # a server model without --tokenizer: characters order the prompts, no context check
        lengths = [len(t[3]) // 4 + 1 for t in todo]
    else:
        lengths = [len(ids) for ids in tokenizer([t[3] for t in todo], add_special_tokens=adds_special_tokens(fmt))
                   ["input_ids"]]
        _check_context(todo, lengths, context())
    jobs = [Job(*t[:4], n, *t[4:]) for t, n in zip(todo, lengths, strict=True)]
    return jobs, reused


def _check_context(todo: list[tuple], lengths: list[int], limit: int | None) -> None:
    if limit is None:
        return
    too_long = [(t[2], n, t[4]) for t, n in zip(todo, lengths, strict=True) if n + t[4] > limit]
    if too_long:
        shown = ", ".join(f"{row_id} ({n} prompt + {budget} new tokens)" for row_id, n, budget in too_long[:5])
        raise EvaluationError(f"{len(too_long)} prompt(s) do not fit the model's context of {limit} tokens: {shown}"
                              f"{' ...' if len(too_long) > 5 else ''}. Use a model with a longer context, lower "
                              "--max-new-tokens, or leave those tasks out with --tasks")


def score_pair(task_code: str, split: str, rows: list[dict], prompts: list[str], records: list[dict], fmt: str,
               modes: tuple[str, ...], method: Method, options: ScoringOptions) -> tuple[list[dict], list[dict]]:
    """Entries (every reading) and per-sample logs of one task × split; ``ecellm score`` calls it too."""
    task = get_task(task_code)
    labels = option_labels(task, rows)
    samples = [{"id": r["id"], "task": task.code, "split": split, "prompt": p, "raw": rec["text"],
                "new_tokens": rec.get("new_tokens"), "finished": rec.get("finished"), "gold": r["output"],
                **({"option_labels": r.get("option_labels")} if labels else {}),
                **({"loglik": {k: rec[k] for k in ("candidates", "logprobs", "n_tokens", "is_greedy")}}
                   if "logprobs" in rec else {})}
               for r, p, rec in zip(rows, prompts, records, strict=True)]
    entries = []
    for label, texts in _answer_sets(task, rows, records, method):
        for mode in modes:
            answers = [answer(p, text, fmt, mode) for p, text in zip(prompts, texts, strict=True)]
            entry, verdicts = score_rows(task, split, mode, answers, rows, options, method=label, verdicts=True)
            entries.append(entry)
            for sample, verdict in zip(samples, verdicts, strict=True):
                sample.setdefault("methods", {}).setdefault(label, {})[mode] = verdict
                sample.setdefault(mode, verdict)  # the run's main method, where tools read one verdict per mode
    return entries, samples


def _answer_sets(task, rows: list[dict], records: list[dict], method: Method) -> list[tuple[str, list[str]]]:
    """``(method label, raw answer texts)`` of one task: log-likelihood runs give the raw and the length-normalised
    pick; a task without a closed answer set (or without a constraint) was generated freely."""
    if records and all("text_norm" in rec for rec in records):
        return [("loglik", [rec["text"] for rec in records]), ("loglik_norm", [rec["text_norm"] for rec in records])]
    constrained = method.constrains and rows and task.scorer.constraint(rows[0]) is not None
    label = Method.CONSTRAINED if constrained else Method.GENERATE
    return [(label.value, [rec["text"] for rec in records])]


def _published(published: str | Path | bool | None) -> Published | None:
    if published is False:
        return None
    return load_published(None if published in (None, True) else published)


@dataclass(frozen=True)
class _RunFacts:
    """What a run found out on its way (the model, its format, the rows): the parts of ``_meta`` not in the config."""

    spec: ModelSpec
    model_id: str
    fmt: str
    fmt_source: str
    settings: GenerationSettings
    run_hash: str
    backend: str
    device: str
    dtype: str
    data: Any
    splits: list[str]
    rows: dict
    modes: tuple[str, ...]
    encoder: Encoder | None


def _meta(config: EvalConfig, run: _RunFacts, stats: GenerationStats, reused: int, seconds: float,
          cache: PredictionCache) -> dict[str, Any]:
    rows = run.rows
    return {
        "model": {**run.spec.as_dict(), "fingerprint": run.model_id},
        "prompt_format": run.fmt,
        "prompt_format_source": run.fmt_source,
        "generation": run.settings.as_dict(),
        "settings_hash": run.run_hash,
        "backend": run.backend,
        "device": run.device,
        "dtype": run.dtype,
        "batch_size": config.batch_size,
        "checkpoint_every": config.checkpoint_every or CHECKPOINT_BATCHES * config.batch_size,
        "data": {"source": data_name(run.data), "config": config.config,
                 "splits": list(run.splits), "tasks": sorted({t for t, _ in rows}), "max_samples": config.max_samples,
                 "rows": {f"{t}.{s}": len(r) for (t, s), r in rows.items()}},
        "scoring": {"modes": list(run.modes), "n_resamples": config.n_resamples, "confidence": config.confidence,
                    "seed": config.seed, "bertscore_encoder": run.encoder.as_dict() if run.encoder
                    else {"label": "not used (no AG rows)"}},
        "timing": {**stats.as_dict(), "reused_prompts": reused, "total_seconds": round(seconds, 3)},
        "cache": str(cache.folder) if cache.folder else None,
        "options": asdict(config),
        "versions": versions(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("ecellm", "transformers", "torch", "peft", "datasets"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            continue
    return out
