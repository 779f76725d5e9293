"""``evaluate()``: data → prompts → cached/batched engine calls (generation, constrained generation or
log-likelihood) → scores in every reading → files."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ecellm.evaluation.backends import check_backend
from ecellm.evaluation.cache import PredictionCache
from ecellm.evaluation.data import data_name, load_data, parse_splits, parse_tasks, select_rows
from ecellm.evaluation.distributed import current_ranks, launcher_ranks
from ecellm.evaluation.engines import (
    check_engine,
    model_context_length,
    open_backend,
    open_tokenizer,
    sends_user_turn,
    server_fingerprint,
    server_spec,
    server_tokenizer,
    user_turn,
)
from ecellm.evaluation.errors import EvaluationError
from ecellm.evaluation.formats import adds_special_tokens, choose_prompt_format, render_prompt
from ecellm.evaluation.generate import GenerationStats, Job, merge_stats, run_jobs, run_loglik_jobs
from ecellm.evaluation.models import (
    ModelSpec,
    describe_model,
    fingerprint,
    pick_device,
    pick_dtype,
)
from ecellm.evaluation.published import Published, load_published
from ecellm.evaluation.results import Results
from ecellm.evaluation.scoring import (
    MODES,
    Encoder,
    MemoPairScorer,
    ScoringOptions,
    answer,
    option_labels,
    resolve_encoder,
    score_rows,
)
from ecellm.evaluation.settings import GenerationSettings, settings_hash, text_key
from ecellm.evaluation.validate import validate_eval_options
from ecinstruct.tasks import get_task

logger = logging.getLogger(__name__)
CHECKPOINT_BATCHES = 4  # default prompts per cache append, in batch sizes: longer chunks keep the batch full
METHODS = ("generate", "constrained", "loglik")
# Constrained JSON (AVE) may need more tokens than the paper's 100 to close its brackets; its schema bounds it.
CONSTRAINED_JSON_BUDGET = 256


def evaluate(
    model: str | Path,
    data: Any = "NingLab/ECInstruct",
    *,
    tasks: str | Sequence[str] = "all",
    splits: str | Sequence[str] = ("test_ind", "test_ood"),
    config: str = "default",
    prompt_format: str | None = None,
    out: str | Path | None = None,
    cache_dir: str | Path | None = None,
    generation: GenerationSettings | None = None,
    max_new_tokens: int | None = None,
    batch_size: int = 16,
    checkpoint_every: int | None = None,
    threads: int | None = None,
    backend: str = "transformers",
    method: str = "generate",
    system_prompt: str | None = None,
    qpr_labels: str | Path | None = None,
    device: str | None = None,
    dtype: str | None = None,
    revision: str | None = None,
    max_samples: int | None = None,
    modes: Sequence[str] = MODES,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    bertscore_model: str | None = "auto",
    bertscore_layers: int | None = None,
    published: str | Path | bool | None = None,
    chart: bool = True,
    progress: bool = True,
    engine: Any = None,
    tokenizer: str | None = None,
) -> Results | None:
    """Evaluate a model on ECInstruct test sets; see ``ecellm eval --help`` for every option.

    Args:
        model: Hub id or folder: full model, merged model, or PEFT adapter (base from its config).
        data: ECInstruct source for :func:`ecinstruct.load` (Hub id, ``dataset.json``, built folder) or a
            ``DatasetDict``. ``config``: ``default`` (Tables 2–3), ``unseen_instruction`` (Table 4),
            ``one_shot``, ``single_instruction`` or a task code.
        prompt_format: ``alpaca``, ``mistral``, ``chat``; ``None`` = the model's default (recorded): its training
            summary's, the paper's template for eCeLLM and Mistral models, else ``chat`` when the tokenizer has
            a chat template, else ``alpaca``.
        method: ``generate`` (free generation, the paper's way), ``constrained`` (the decoder may only produce a
            valid answer) or ``loglik`` (closed-answer tasks pick the candidate with the highest log-likelihood;
            AVE and AG are generated). Every method is scored in every reading (``modes``).
        system_prompt: a system message for the ``chat`` format.
        qpr_labels: the official QPR label file, for data built from the published file without it.
        out: folder for results.json/.md/.png, per-sample logs and the resumable cache (``out/cache``).
        cache_dir: cache location if not ``out/cache``; with neither, nothing is cached.
        generation: decoding settings (greedy by default; ``GenerationSettings.reference_sampling()``).
        batch_size: rows decoding together (continuous batching: a finished row's place is refilled).
        checkpoint_every: prompts per cache append (default 4 x batch_size): what a killed run may lose.
        threads: CPU threads for torch (default: torch's choice); 1 is faster on an oversubscribed machine.
        max_samples: first N rows per task and split (quick runs).
        modes: answer readings: ``strict``, ``reference`` and/or ``flexible`` (the answer found in a chatty output).
        bertscore_model: AG encoder: ``auto``, ``paper`` (roberta-large), ``offline`` (MiniLM wheel), or a path.
        published: published numbers to show (file path; ``None`` = the package's eCeLLM numbers; ``False`` = none).
        engine: ``VllmOptions`` for ``backend="vllm"`` (defaults when None) or ``OpenAIOptions`` (required for
            ``backend="openai"``; ``model`` is then the server's name for it).
        tokenizer: for a server model, a local/Hub tokenizer for context checks and chat templates (optional).

    Under ``accelerate launch``/``torchrun`` the prompts are shared among the processes; only rank 0 scores
    and returns the results, the other ranks return None.
    """
    started = time.perf_counter()
    modes = _check_modes(modes)
    task_list, explicit = parse_tasks(tasks)
    split_list = parse_splits(splits)
    backend = check_backend(backend)
    engine = check_engine(backend, engine)
    method = _check_method(method)
    settings = (generation or GenerationSettings(seed=seed)).with_overrides(max_new_tokens=max_new_tokens)
    guard = validate_eval_options(  # every option, before data, model or generation; holds the --out lock
        out=out, cache_dir=cache_dir, max_samples=max_samples, threads=threads, batch_size=batch_size,
        checkpoint_every=checkpoint_every, temperature=settings.temperature, top_p=settings.top_p, device=device,
        dtype=dtype, n_resamples=n_resamples, confidence=confidence, bertscore_model=bertscore_model,
        bertscore_layers=bertscore_layers, published=published,
        uses_ag=any(t.scorer.needs_encoder for t in task_list), lock=launcher_ranks().is_main)
    rows = select_rows(load_data(data, config, qpr_labels), task_list, explicit, split_list,
                       data_name=data_name(data), config=config, max_samples=max_samples)
    _check_qpr_labels(rows, data_name(data))
    published_numbers = _published(published)  # every late-failing input is checked before the engine runs
    needs_encoder = any(get_task(t).scorer.needs_encoder for t, _ in rows)
    encoder = resolve_encoder(bertscore_model, bertscore_layers) if needs_encoder else None
    server = backend == "openai"
    spec = server_spec(model, engine, tokenizer) if server else describe_model(model, revision=revision)
    tokenizer = server_tokenizer(spec) if server else open_tokenizer(spec)
    fmt, fmt_source = choose_prompt_format(spec, prompt_format, tokenizer)
    if system_prompt is not None and fmt != "chat":
        raise EvaluationError(f"--system-prompt needs the chat prompt format; this run uses {fmt!r}. Add "
                              "--prompt-format chat (the model's tokenizer must have a chat template)")
    ranks = current_ranks()
    device = ranks.device(pick_device(device))
    dtype = pick_dtype(dtype, device)
    model_id = server_fingerprint(spec) if server else fingerprint(spec)
    key_parts = {"model": model_id, "prompt_format": fmt, "generation": settings.cache_key(), "backend": backend,
                 "dtype": dtype, **({"method": method} if method != "generate" else {}),
                 **({"system_prompt": system_prompt} if system_prompt else {})}
    run_hash = settings_hash(**key_parts)
    cache_root = cache_dir or (Path(out) / "cache" if out is not None else None)
    cache = PredictionCache(cache_root, run_hash, {**key_parts, "model_spec": spec.as_dict()}, shard=ranks.shard_name)

    render = (user_turn if sends_user_turn(backend, engine, fmt) and system_prompt is None
              else lambda r: render_prompt(r, fmt, tokenizer, system_prompt))
    prompts = {pair: [render(r) for r in pair_rows] for pair, pair_rows in rows.items()}
    jobs, reused = _pending(rows, prompts, tokenizer, fmt, settings, cache, spec, method)
    ranks.barrier()  # every rank has read the cache before any rank appends to it
    stats, generator = GenerationStats(), None
    if jobs:
        _set_threads(threads)
        generator = open_backend(backend, spec, settings, fmt, tokenizer, device, dtype, batch_size, engine,
                             needed_len=max(j.n_tokens + j.budget for j in jobs))
        chunk = checkpoint_every or CHECKPOINT_BATCHES * batch_size
        mine = ranks.take(sorted(jobs, key=lambda j: (-j.n_tokens, j.task, j.split, j.row_id)))
        scored = [j for j in mine if j.candidates is not None]
        stats = run_loglik_jobs(generator, scored, cache, chunk_size=chunk, choose=_choose,
                                progress=progress and ranks.is_main)
        generated = run_jobs(generator, [j for j in mine if j.candidates is None], cache, chunk_size=chunk,
                             seed=settings.seed, progress=progress and ranks.is_main)
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

    pair_scorer = MemoPairScorer(encoder, progress=progress) if encoder else None
    scoring = ScoringOptions(n_resamples, confidence, seed, pair_scorer)
    entries, samples = [], {}
    for (task_code, split), pair_rows in rows.items():
        texts = [cache.load(task_code, split)[r["id"]] for r in pair_rows]
        pair_entries, samples[(task_code, split)] = _score_pair(
            task_code, split, pair_rows, prompts[(task_code, split)], texts, fmt, modes, method, scoring)
        entries += pair_entries

    meta = _meta(spec, model_id, fmt, fmt_source, settings, run_hash, backend, device, dtype, batch_size,
                 checkpoint_every, data, config, split_list, rows, max_samples, modes, n_resamples, confidence, seed,
                 encoder, stats, reused, time.perf_counter() - started, cache)
    meta.update(method=method, system_prompt=system_prompt, processes=ranks.world,
                engine=generator.describe() if hasattr(generator, "describe")
                else {"name": backend, "started": generator is not None})
    results = Results(meta=meta, entries=entries, samples=samples, published=published_numbers)
    if out is not None:
        results.save(out, chart=chart)
    if guard is not None:
        guard.release()
    return results


def _set_threads(threads: int | None) -> None:
    if threads:
        import torch

        torch.set_num_threads(threads)


def _check_method(method: str) -> str:
    if method not in METHODS:
        raise EvaluationError(f"unknown method {method!r}; expected one of: {', '.join(METHODS)}")
    return method


def _check_qpr_labels(rows: dict, name: str) -> None:
    """QPR is scored from each product's ESCI label: refuse before any model work when they are missing."""
    missing = [r["id"] for (task, _), pair_rows in rows.items() if get_task(task).scorer.needs_option_labels
               for r in pair_rows if not r.get("option_labels")]
    if missing:
        raise EvaluationError(f"{len(missing)} QPR row(s) of {name} carry no option labels (e.g. {missing[0]}); QPR "
                              "is scored from the ESCI label of every listed product. Pass the official label file "
                              "with --qpr-labels FILE, or leave QPR out with --tasks")


def _choose(task_code: str, candidates, scores) -> str:
    return get_task(task_code).scorer.answer_from_scores(candidates, scores)


def _check_modes(modes: Sequence[str]) -> tuple[str, ...]:
    names = [m.strip() for m in modes.split(",")] if isinstance(modes, str) else list(modes)
    bad = [m for m in names if m not in MODES]
    if bad or not names:
        raise EvaluationError(f"unknown scoring mode(s) {bad or names}; expected some of: {', '.join(MODES)}")
    return tuple(dict.fromkeys(names))


def _pending(rows: dict, prompts: dict, tokenizer: Any, fmt: str, settings: GenerationSettings,
             cache: PredictionCache, spec: ModelSpec, method: str) -> tuple[list[Job], int]:
    """Jobs for rows without a valid cached prediction (prompt lengths checked against the context)."""
    jobs, reused = [], 0
    todo = []
    for (task_code, split), pair_rows in rows.items():
        scorer = get_task(task_code).scorer
        for row, prompt in zip(pair_rows, prompts[(task_code, split)], strict=True):
            candidates = scorer.candidates(row) if method == "loglik" else None
            constraint = scorer.constraint(row) if method == "constrained" else None
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
        _check_context(todo, lengths, None if spec.kind == "server" else model_context_length(spec))
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


def _score_pair(task_code: str, split: str, rows: list[dict], prompts: list[str], records: list[dict], fmt: str,
                modes: tuple[str, ...], method: str, options: ScoringOptions) -> tuple[list[dict], list[dict]]:
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


def _answer_sets(task, rows: list[dict], records: list[dict], method: str) -> list[tuple[str, list[str]]]:
    """``(method label, raw answer texts)`` of one task: log-likelihood runs give the raw and the length-normalised
    pick; a task without a closed answer set (or without a constraint) was generated freely."""
    if records and all("text_norm" in rec for rec in records):
        return [("loglik", [rec["text"] for rec in records]), ("loglik_norm", [rec["text_norm"] for rec in records])]
    constrained = method == "constrained" and rows and task.scorer.constraint(rows[0]) is not None
    return [("constrained" if constrained else "generate", [rec["text"] for rec in records])]


def _published(published: str | Path | bool | None) -> Published | None:
    if published is False:
        return None
    return load_published(None if published in (None, True) else published)


def _meta(spec, model_id, fmt, fmt_source, settings, run_hash, backend, device, dtype, batch_size, checkpoint_every,
          data, config, splits, rows, max_samples, modes, n_resamples, confidence, seed, encoder: Encoder | None,
          stats: GenerationStats, reused: int, seconds: float, cache: PredictionCache) -> dict[str, Any]:
    return {
        "model": {**spec.as_dict(), "fingerprint": model_id},
        "prompt_format": fmt,
        "prompt_format_source": fmt_source,
        "generation": settings.as_dict(),
        "settings_hash": run_hash,
        "backend": backend,
        "device": device,
        "dtype": dtype,
        "batch_size": batch_size,
        "checkpoint_every": checkpoint_every or CHECKPOINT_BATCHES * batch_size,
        "data": {"source": data_name(data), "config": config,
                 "splits": list(splits), "tasks": sorted({t for t, _ in rows}), "max_samples": max_samples,
                 "rows": {f"{t}.{s}": len(r) for (t, s), r in rows.items()}},
        "scoring": {"modes": list(modes), "n_resamples": n_resamples, "confidence": confidence, "seed": seed,
                    "bertscore_encoder": encoder.as_dict() if encoder else {"label": "not used (no AG rows)"}},
        "timing": {**stats.as_dict(), "reused_prompts": reused, "total_seconds": round(seconds, 3)},
        "cache": str(cache.folder) if cache.folder else None,
        "versions": _versions(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("ecellm", "transformers", "torch", "peft", "datasets"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            continue
    return out
