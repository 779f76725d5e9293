"""What the training run sees: rows per task, answers balanced, every row weighted equally in the loss."""

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


def test_row_index_splits_padding_free_lines_at_position_restarts():
    inputs = {"input_ids": torch.zeros(2, 7, dtype=torch.long),
              "position_ids": torch.tensor([[0, 1, 2, 0, 1, 0, 1], [0, 1, 2, 3, 0, 1, 2]])}
    rows = row_index(inputs, torch.Size([2, 7]))
    groups = [sorted(set(r.tolist())) for r in rows]
    assert len(groups[0]) == 3 and len(groups[1]) == 2 and not set(groups[0]) & set(groups[1])
    assert rows[0, 0] == rows[0, 2] != rows[0, 3] == rows[0, 4] != rows[0, 5]
    padded = row_index({"input_ids": torch.zeros(3, 4, dtype=torch.long)}, torch.Size([3, 4]))
    assert padded.tolist() == [[0] * 4, [1] * 4, [2] * 4]
