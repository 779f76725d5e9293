"""What the training run sees: rows per task, answers balanced, rows weighted by answer length to a power."""

from __future__ import annotations

from collections import Counter

import datasets
import torch

from ecellm.training.data import select_train_rows
from ecellm.training.trainer import row_index


def _rows() -> datasets.Dataset:
    pm = [{"task_code": "PM", "output": "no"}] * 30 + [{"task_code": "PM", "output": "yes"}] * 6
    ag = [{"task_code": "AG", "output": f"answer {i}"} for i in range(50)]
    return datasets.Dataset.from_list([{**r, "id": str(i)} for i, r in enumerate(pm + ag)])


def test_rows_per_task_and_balanced_answers():
    rows = select_train_rows(_rows(), 10, True, seed=3)
    by_task = Counter(rows["task_code"])
    assert by_task == {"PM": 10, "AG": 10}
    pm = Counter(o for t, o in zip(rows["task_code"], rows["output"], strict=True) if t == "PM")
    assert pm == {"yes": 5, "no": 5}  # 30:6 in the pool, 5:5 drawn
    unbalanced = select_train_rows(_rows(), 10, False, seed=3)
    assert Counter(unbalanced["task_code"]) == {"PM": 10, "AG": 10}
    assert select_train_rows(_rows(), 10, True, seed=3)["id"] == rows["id"]  # seeded
    assert select_train_rows(_rows(), None, False, seed=3)["id"] == _rows()["id"]  # off: untouched


def test_balance_takes_what_a_rare_answer_has():
    rows = select_train_rows(_rows(), 20, True, seed=0)
    pm = Counter(o for t, o in zip(rows["task_code"], rows["output"], strict=True) if t == "PM")
    assert pm == {"yes": 6, "no": 14}


def test_repeat_rare_answers_fills_equal_shares():
    rows = select_train_rows(_rows(), 20, True, seed=0, repeat_rare=True)
    pm = [(i, o) for i, t, o in zip(rows["id"], rows["task_code"], rows["output"], strict=True) if t == "PM"]
    assert Counter(o for _, o in pm) == {"yes": 10, "no": 10}  # the 6 "yes" rows, four of them twice
    yes_ids = Counter(i for i, o in pm if o == "yes")
    assert len(yes_ids) == 6 and sorted(yes_ids.values()) == [1, 1, 2, 2, 2, 2]
    assert len({i for i, o in pm if o == "no"}) == 10  # the common answer is not repeated
    assert Counter(rows["task_code"])["AG"] == 20  # open-answer tasks are drawn as before


def test_repeat_rare_answers_needs_balance_and_a_share():
    import pytest

    from ecellm.training.config import ECeLLMArguments

    with pytest.raises(ValueError, match="balance_answers: true and train_samples_per_task"):
        ECeLLMArguments(repeat_rare_answers=True, balance_answers=True)


def test_row_index_splits_padding_free_lines_at_position_restarts():
    inputs = {"input_ids": torch.zeros(2, 7, dtype=torch.long),
              "position_ids": torch.tensor([[0, 1, 2, 0, 1, 0, 1], [0, 1, 2, 3, 0, 1, 2]])}
    rows = row_index(inputs, torch.Size([2, 7]))
    groups = [sorted(set(r.tolist())) for r in rows]
    assert len(groups[0]) == 3 and len(groups[1]) == 2 and not set(groups[0]) & set(groups[1])
    assert rows[0, 0] == rows[0, 2] != rows[0, 3] == rows[0, 4] != rows[0, 5]
    padded = row_index({"input_ids": torch.zeros(3, 4, dtype=torch.long)}, torch.Size([3, 4]))
    assert padded.tolist() == [[0] * 4, [1] * 4, [2] * 4]


def test_row_mean_loss_weighs_a_one_token_answer_like_a_long_one():
    """Two rows packed in one padding-free line: a 1-token answer and a 3-token one. The loss is the mean of
    the two rows' means (a token mean would give the long answer 3/4 of the weight), divided by the
    accumulation steps when the Trainer leaves that to the loss, as it does for TRL's token mean."""
    from types import SimpleNamespace

    from ecellm.training.trainer import ECellmSFTTrainer

    torch.manual_seed(0)
    positions = torch.tensor([[0, 1, 2, 3, 0, 1, 2, 3, 4, 5]])
    labels = torch.full((1, 10), -100)
    labels[0, 3] = 7  # row 1: one answer token
    labels[0, 7:10] = torch.tensor([5, 6, 8])  # row 2: three
    keep = torch.nn.functional.pad(labels[:, 1:] != -100, (0, 1), value=False)
    targets = labels[:, 1:][keep[:, :-1]]
    logits = torch.randn(int(keep.sum()), 12)
    ce = torch.nn.functional.cross_entropy(logits, targets, reduction="none")
    inputs = {"input_ids": torch.zeros(1, 10, dtype=torch.long), "position_ids": positions}
    fake = SimpleNamespace(loss_is_scaled_for_ga=None, model_accepts_loss_kwargs=True, compute_loss_func=None,
                           current_gradient_accumulation_steps=2, loss_length_power=0.0)
    loss = ECellmSFTTrainer._row_weighted_loss(fake, logits, targets, keep, inputs, num_items_in_batch=4)
    expected = (ce[0] + ce[1:].mean()) / 2 / 2
    assert torch.allclose(loss, expected)
    assert not torch.allclose(loss, ce.mean() / 2)  # the token mean differs
    fake.model_accepts_loss_kwargs = False  # the Trainer divides by the accumulation steps itself
    loss = ECellmSFTTrainer._row_weighted_loss(fake, logits, targets, keep, inputs, num_items_in_batch=None)
    assert torch.allclose(loss, (ce[0] + ce[1:].mean()) / 2)


def test_length_power_weighs_rows_between_the_row_and_the_token_mean():
    """Power 1 gives TRL's token mean, 0.5 weighs the 3-token row sqrt(3) times the 1-token row."""
    from types import SimpleNamespace

    from ecellm.training.trainer import ECellmSFTTrainer

    torch.manual_seed(1)
    positions = torch.tensor([[0, 1, 2, 3, 0, 1, 2, 3, 4, 5]])
    labels = torch.full((1, 10), -100)
    labels[0, 3] = 7
    labels[0, 7:10] = torch.tensor([5, 6, 8])
    keep = torch.nn.functional.pad(labels[:, 1:] != -100, (0, 1), value=False)
    targets = labels[:, 1:][keep[:, :-1]]
    logits = torch.randn(int(keep.sum()), 12)
    ce = torch.nn.functional.cross_entropy(logits, targets, reduction="none")
    inputs = {"input_ids": torch.zeros(1, 10, dtype=torch.long), "position_ids": positions}
    fake = SimpleNamespace(loss_is_scaled_for_ga=False, loss_length_power=1.0)
    token_mean = ECellmSFTTrainer._row_weighted_loss(fake, logits, targets, keep, inputs, num_items_in_batch=None)
    assert torch.allclose(token_mean, ce.mean())
    fake.loss_length_power = 0.5
    between = ECellmSFTTrainer._row_weighted_loss(fake, logits, targets, keep, inputs, num_items_in_batch=None)
    root3 = 3 ** 0.5
    assert torch.allclose(between, (ce[0] + root3 * ce[1:].mean()) / (1 + root3))


def test_length_power_outside_zero_to_one_is_refused():
    import pytest

    from ecellm.training.config import ECeLLMArguments

    with pytest.raises(ValueError, match="loss_length_power must be between 0"):
        ECeLLMArguments(loss_length_power=2.0)


def test_a_task_can_get_its_own_number_of_rows():
    rows = select_train_rows(_rows(), 10, True, seed=0, repeat_rare=True, per_task_for={"PM": 30})
    pm = Counter(o for t, o in zip(rows["task_code"], rows["output"], strict=True) if t == "PM")
    assert pm == {"yes": 15, "no": 15} and Counter(rows["task_code"])["AG"] == 10


def test_train_samples_by_task_is_checked_before_anything_loads():
    import pytest

    from ecellm.training.config import ECeLLMArguments

    args = ECeLLMArguments(train_samples_by_task=["sa=500", "PM=3"])
    assert args.samples_per_task_overrides() == {"SA": 500, "PM": 3}
    for bad in ("SA", "SA=0", "XX=5", "SA=many"):
        with pytest.raises(ValueError, match=f"entry '{bad}': expected TASK=N"):
            ECeLLMArguments(train_samples_by_task=[bad])
