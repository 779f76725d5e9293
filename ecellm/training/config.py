"""The recipe fields TRL lacks: which ECInstruct data to train on, the prompt format, in-training task eval.

Everything else in a recipe is a field of TRL's own classes (``ScriptArguments``, ``SFTConfig``,
``ModelConfig``), parsed by ``TrlParser``; this class only adds what is specific to eCeLLM.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ECeLLMArguments:
    """eCeLLM-specific recipe fields (everything else is TRL's ``ScriptArguments``/``SFTConfig``/``ModelConfig``).

    Data selection reuses TRL's ``dataset_name`` (a Hub id, a published ``dataset.json``, a folder built by
    ``ecinstruct build``, or ``sample`` for the package's embedded sample) and ``dataset_config`` (an
    ``ecinstruct`` config: ``default`` = diverse instructions, ``single_instruction`` = the seed instruction
    only, or a task code). The two switches of the paper's Tables 4–5 are therefore:
    generalist vs task-specific → ``tasks``; diverse vs single instruction → ``dataset_config``.

    Args:
        tasks: Task codes to train on (``[AVE]`` = a task-specific model); empty = all tasks (generalist).
        prompt_format: ``alpaca`` or ``mistral`` (the reference's plain-text templates, byte for byte) or
            ``chat`` (the tokenizer's chat template).
        max_train_samples: Keep only the first N training rows after the task filter (smoke runs).
        max_eval_samples: Keep only the first N validation rows for the loss evaluation.
        train_samples_per_task: Draw at most N training rows of each task (seeded), so that the tasks with
            thousands of rows do not crowd out a small one and the CPU budget goes where the recipe says.
        train_samples_by_task: ``TASK=N`` entries that give a task its own number of rows instead of
            ``train_samples_per_task`` (``[SA=400]``: with ``repeat_rare_answers``, SA's 215 rows are passed over
            more often than the other tasks' rows; docs/results/ablation.md measures it).
        balance_answers: Within each closed-answer task (a fixed option set: yes/no, options), draw the rows
            round-robin over the reference answers, so no answer is the majority of what the model sees. A
            skewed set (SA: 60% "very positive") otherwise teaches the prior first, and a short run stops there.
        repeat_rare_answers: With ``balance_answers``, repeat the rows of an answer the task holds too few of, so
            that every answer fills an equal share of the task's rows (``train_samples_per_task``, or its
            ``train_samples_by_task`` entry). Without it a task is balanced only
            as far as its rarest answers allow: SA's 215 rows, all drawn, stay 60% "very positive".
        loss_length_power: How much a row's answer length weighs in the loss: each row's answer tokens are
            averaged first, and row r then weighs ``n_r ** power`` (``n_r`` its answer tokens). 1 is TRL's mean
            over all answer tokens, where a generalist's gradient is mostly the long answers of AG and AVE and the
            one-token answers of PM and SA are learned only as a prior (docs/results/fine_tuning_diagnosis.md);
            0 weighs every row alike, which teaches PM but learns AG's long answers less (docs/results/ablation.md);
            values between trade the two.
        fit_inputs_to_max_length: Shorten over-long *inputs* so that prompt + answer + EOS fit ``max_length``
            (the reference truncates the whole sequence, which can cut the answer or mask every label).
        task_eval_samples: Rows per task of the validation split to generate on at every evaluation and score
            with the task metrics (``eval_task_score`` etc., usable as ``metric_for_best_model``); 0 = off.
        task_eval_max_new_tokens: Generation budget of the task evaluation (the reference generates 100 tokens).
        task_eval_batch_size: Prompts per ``generate`` call in the task evaluation.
        effective_batch_size: Rows per optimizer step across all processes (the paper: 128). When set,
            ``gradient_accumulation_steps`` is derived from it, ``per_device_train_batch_size`` and the number of
            processes, so the same recipe keeps its batch on 1 or N GPUs.
        save_merged: Also save the LoRA weights merged into the base model (``<output_dir>/merged``).
    """

    tasks: list[str] = field(default_factory=list, metadata={"help": "Task codes to train on; empty = all tasks."})
    prompt_format: str = field(
        default="alpaca",
        metadata={"help": "Prompt format.", "choices": ["alpaca", "mistral", "chat"]},
    )
    max_train_samples: int | None = field(default=None, metadata={"help": "Keep the first N training rows."})
    max_eval_samples: int | None = field(default=None, metadata={"help": "Keep the first N validation rows."})
    train_samples_per_task: int | None = field(
        default=None, metadata={"help": "Draw at most N training rows of each task (seeded); none = all."}
    )
    train_samples_by_task: list[str] = field(
        default_factory=list, metadata={"help": "TASK=N entries overriding train_samples_per_task for that task."}
    )
    balance_answers: bool = field(
        default=False, metadata={"help": "Draw closed-answer tasks' rows round-robin over their reference answers."}
    )
    repeat_rare_answers: bool = field(
        default=False, metadata={"help": "With balance_answers, repeat a rare answer's rows to fill an equal share."}
    )
    loss_length_power: float = field(
        default=1.0, metadata={"help": "Row weight = answer tokens**power: 1 = token mean, 0 = rows alike."}
    )
    fit_inputs_to_max_length: bool = field(
        default=True, metadata={"help": "Shorten over-long inputs so prompt + answer + EOS fit max_length."}
    )
    task_eval_samples: int = field(
        default=0, metadata={"help": "Validation rows per task to generate on at each evaluation; 0 = off."}
    )
    task_eval_max_new_tokens: int = field(default=100, metadata={"help": "Max new tokens of the task evaluation."})
    task_eval_batch_size: int = field(default=8, metadata={"help": "Prompts per generate call in the task eval."})
    effective_batch_size: int | None = field(
        default=None, metadata={"help": "Rows per optimizer step over all processes; sets gradient_accumulation_steps."}
    )
    save_merged: bool = field(default=False, metadata={"help": "Also save the merged model to <output_dir>/merged."})

    def __post_init__(self) -> None:
        # YAML may give one code as a string; the CLI gives a list.
        if isinstance(self.tasks, str):
            self.tasks = [self.tasks]
        if self.task_eval_samples < 0:
            raise ValueError(f"task_eval_samples must be >= 0 (0 disables the task evaluation), got "
                             f"{self.task_eval_samples}")
        self.samples_per_task_overrides()  # a malformed entry fails here, before anything loads
        if self.repeat_rare_answers and not (self.balance_answers and self.train_samples_per_task):
            raise ValueError("repeat_rare_answers fills equal shares of train_samples_per_task: set "
                             "balance_answers: true and train_samples_per_task, or drop repeat_rare_answers")
        if not 0.0 <= self.loss_length_power <= 1.0:
            raise ValueError(f"loss_length_power must be between 0 (every row alike) and 1 (TRL's token mean), got "
                             f"{self.loss_length_power}")

    def samples_per_task_overrides(self) -> dict[str, int]:
        """``train_samples_by_task`` as {task code: rows}; a malformed entry raises ValueError."""
        from ecinstruct.errors import UnknownNameError
        from ecinstruct.tasks import get_task

        overrides: dict[str, int] = {}
        for entry in self.train_samples_by_task:
            code, _, rows = str(entry).partition("=")
            try:
                task, count = get_task(code.strip()), int(rows)
            except (UnknownNameError, ValueError):
                count = 0
            if count < 1:
                raise ValueError(f"train_samples_by_task entry {entry!r}: expected TASK=N with a task code and a "
                                 "whole number of rows >= 1, e.g. SA=500")
            overrides[task.code] = count
        return overrides
