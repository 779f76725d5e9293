"""The embedded ECInstruct sample: published format, coverage, determinism and learnability."""

from __future__ import annotations

import ast
import json
import re
from collections import Counter, defaultdict

import pytest

from ecinstruct.sample import (
    DEFAULT_SIZES,
    default_sample_path,
    generate_examples,
    load_sample,
    sample_rows,
    write_published,
)
from ecinstruct.sample.__main__ import main as sample_main
from ecinstruct.sample.vocab import AVE_IND_ATTRIBUTES, AVE_OOD_ATTRIBUTES, QA_PROPERTIES
from ecinstruct.schema import PUBLISHED_COLUMNS, normalize_row
from ecinstruct.settings import SETTINGS
from ecinstruct.tasks import TASKS, get_task
from ecinstruct.tasks.ave.sample import SOURCES

ESCI_ORDER = "ESCI"


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    return load_sample()


@pytest.fixture(scope="module")
def by_task(rows) -> dict[str, list[dict]]:
    grouped = defaultdict(list)
    for row in rows:
        grouped[get_task(row["task"]).code].append(row)
    return grouped


def _split_rows(rows: list[dict], split: str, setting: str = "IND_Diverse_Instruction") -> list[dict]:
    return [r for r in rows if r["setting"] == setting and r["split"] == split]


def _ood_test(rows: list[dict]) -> list[dict]:
    return _split_rows(rows, "test", "OOD_Diverse_Instruction")


# ---------------------------------------------------------------- file format and coverage


def test_shipped_file_is_small_and_equals_a_fresh_generation(tmp_path):
    fresh = tmp_path / "dataset.jsonl"
    write_published(fresh, sample_rows())
    shipped = default_sample_path()
    assert shipped.stat().st_size < 2_000_000
    assert shipped.read_bytes() == fresh.read_bytes()


def test_generation_is_deterministic_and_seed_dependent(tmp_path):
    paths = [tmp_path / name for name in ("a.jsonl", "b.jsonl", "c.jsonl")]
    small = {"train": 6, "validation": 2, "test_ind": 3, "test_ood": 3}
    for path, seed in zip(paths, (7, 7, 8), strict=True):
        write_published(path, sample_rows(small, seed=seed))
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert paths[0].read_bytes() != paths[2].read_bytes()


def test_every_row_validates_and_has_the_published_columns(rows):
    for i, row in enumerate(rows):
        normalize_row(row, i)
        is_qpr = row["task"] == "Query_Product_Rank"
        assert list(row) == list(PUBLISHED_COLUMNS) + (["option_labels"] if is_qpr else [])
        assert all(ord(c) < 128 for c in json.dumps(row))


def test_counts_per_task_setting_and_split(rows):
    counts = Counter((r["task"], r["setting"], r["split"]) for r in rows)
    expected = Counter()
    for task in TASKS:
        for setting in SETTINGS:
            if setting.domain == "OOD":
                if task.has_ood:
                    expected[(task.name, setting.name, "test")] = DEFAULT_SIZES["test_ood"]
                continue
            expected[(task.name, setting.name, "test")] = DEFAULT_SIZES["test_ind"]
            if setting.instructions != "unseen" and not setting.one_shot:
                expected[(task.name, setting.name, "train")] = DEFAULT_SIZES["train"]
                expected[(task.name, setting.name, "val")] = DEFAULT_SIZES["validation"]
    assert counts == expected
    assert [get_task(r["task"]).code for r in rows] == sorted(
        (get_task(r["task"]).code for r in rows), key=[t.code for t in TASKS].index
    )


def test_one_shot_rows_carry_a_train_example(by_task):
    for code, task_rows in by_task.items():
        task = get_task(code)
        train = {r["input"]: r for r in _split_rows(task_rows, "train")}
        for row in task_rows:
            if not row["setting"].endswith("1-shot"):
                assert row["few_shot_example"] is None
                continue
            example = json.loads(row["few_shot_example"])
            keys = ["input", "options", "output"] if task.has_options else ["input", "output"]
            assert list(example) == keys
            assert example["output"] == train[example["input"]]["output"]


def test_no_test_input_occurs_in_train(by_task):
    for task_rows in by_task.values():
        train = {r["input"] for r in task_rows if r["split"] == "train"}
        held_out = {r["input"] for r in task_rows if r["split"] != "train"}
        assert not train & held_out
        # inputs are distinct within a split too
        assert len(train) == DEFAULT_SIZES["train"]


def test_generate_examples_splits():
    samples = generate_examples("pm", {"train": 4, "validation": 1, "test_ind": 2}, seed=3)
    assert list(samples) == ["train", "validation", "test_ind"]  # PM has no OOD test
    assert [len(v) for v in samples.values()] == [4, 1, 2]


def test_cli_writes_the_array_format(tmp_path):
    out = tmp_path / "sample.json"
    sample_main(["--out", str(out), "--sizes", "train=2,validation=1,test_ind=1,test_ood=1",
                 "--tasks", "SA,QPR", "--format", "array"])
    records = json.loads(out.read_text())
    assert {r["task"] for r in records} == {"Sentiment_Analysis", "Query_Product_Rank"}
    assert all(("option_labels" in r) == (r["task"] == "Query_Product_Rank") for r in records)


# ---------------------------------------------------------------- per-task formats


def test_fixed_option_tasks(by_task):
    for code in ("PRP", "SA", "MPC"):
        task = get_task(code)
        for row in by_task[code]:
            assert row["options"] == json.dumps(list(task.options))
            expected = task.option_letters if code == "PRP" else task.options
            assert row["output"] in expected


def test_null_option_tasks(by_task):
    for code in ("AVE", "PM", "PSI", "QPR", "AP", "AG"):
        assert all(r["options"] is None for r in by_task[code])
    for code in ("PM", "PSI", "AP"):
        assert {r["output"] for r in by_task[code]} == {"yes", "no"}


def test_json_inputs_have_the_published_keys(by_task):
    keys = {"PRP": ["Product 1:", "Product 2:"], "PM": ["product 1", "product 2"], "MPC": ["query", "product title"],
            "PSI": ["query", "product"], "QPR": ["query", "product list"], "AP": ["question", "document"],
            "AG": ["question", "document"]}
    for code, expected in keys.items():
        for row in by_task[code]:
            parsed = json.loads(row["input"])
            assert list(parsed) == expected
            assert json.dumps(parsed) == row["input"]  # default json.dumps separators


def test_pm_records(by_task):
    descriptions = []
    for row in by_task["PM"]:
        for record in json.loads(row["input"]).values():
            assert list(record) == ["title", "description", "manufacturer", "price"]
            assert record["title"] == record["title"].lower()
            descriptions.append(record["description"])
    texts = [d for d in descriptions if isinstance(d, str)]
    assert any(d != d for d in descriptions if isinstance(d, float))  # a bare NaN occurs
    assert any(d.endswith("...") for d in texts)
    assert all(len(d.split(" ")) <= 50 or d.endswith("...") for d in texts)
    assert '"nan"' in "".join(r["input"] for r in by_task["PM"])


def test_sr_history_and_twenty_lettered_options(by_task):
    quoted = cut = False
    for row in by_task["SR"]:
        history = ast.literal_eval(row["input"])
        options = ast.literal_eval(row["options"])
        assert row["options"] == str(options)
        assert [h.split(": ", 1)[0] for h in history][:3] == ["1st", "2nd", "3rd"]
        assert [o.split(": ", 1)[0] for o in options] == [chr(ord("A") + i) for i in range(20)]
        assert all(len(o.split(": ", 1)[1].split(" ")) <= 25 for o in options)
        # the true next item is the one candidate of the product line the user was buying last
        line = history[-1].split(". ")[2]
        in_line = [o[0] for o in options if f". {line}. " in o]
        assert in_line == [row["output"]]
        quoted |= '"' in row["options"]
        cut |= any(o.endswith("...") for o in options)
    assert quoted  # an item with a quote character switches to Python's double-quoted repr
    assert cut  # some item texts are cut at 25 words


def test_qpr_labels_and_ranking(by_task):
    for row in by_task["QPR"]:
        labels = row["option_labels"]
        products = json.loads(row["input"])["product list"]
        assert 2 <= len(labels) == len(products) <= 4 and len(set(labels)) == len(labels)
        letters = [p.split(": ", 1)[0] for p in products]
        ranked = sorted(letters, key=lambda letter: ESCI_ORDER.index(labels[letters.index(letter)]))
        assert row["output"] == ",".join(ranked)


def test_ave_outputs(by_task):
    ood_names = {a.lower() for a in AVE_OOD_ATTRIBUTES}
    for row in by_task["AVE"]:
        fields = json.loads(row["input"])
        keys = list(fields)
        assert keys[-1] == "target attributes" and keys[:-1] == [s for s in SOURCES if s in fields]
        assert "product title" in fields
        triples = json.loads(row["output"])
        target = fields["target attributes"]
        assert row["output"].replace('"None"', "") == row["output"].replace('"None"', "").lower()
        assert (target.lower() in ood_names) == row["setting"].startswith("OOD")
        for triple in triples:
            assert list(triple) == ["attribute", "value", "source"] and triple["attribute"] == target.lower()
            if triple["value"] == "None":
                assert triple["source"] == "None" and len(triples) == 1
                vocab = {**AVE_IND_ATTRIBUTES, **AVE_OOD_ATTRIBUTES}[target]
                text = " ".join(fields.values()).lower()
                assert not any(v.lower() in text for v in vocab)
            else:
                assert triple["source"] in SOURCES
                assert triple["value"] in fields[triple["source"]].lower()
    assert any("None" in r["output"] for r in by_task["AVE"])


def test_ag_answers_restate_the_document(by_task):
    for row in by_task["AG"]:
        document = " ".join(json.loads(row["input"])["document"])
        assert row["output"] and _numbers_and_values(row["output"]) <= _numbers_and_values(document)


def _numbers_and_values(text: str) -> set[str]:
    values = {v for p in QA_PROPERTIES for v in p.values if v in text}
    return values | set(re.findall(r"\d+", text))


# ---------------------------------------------------------------- learnability
# Each classification task carries a simple signal. A rule that reads it (or a bag-of-words model
# fitted on the train rows) must beat chance clearly on the IND and OOD tests: this is what the
# offline demo relies on to show learning after a few minutes of LoRA training.


def _accuracy(rows: list[dict], predict) -> float:
    return sum(predict(r) == r["output"] for r in rows) / len(rows)


def _brand(title: str) -> str:
    return title.split(" ", 1)[0].lower()


def _predict_prp(row: dict) -> str:
    first, second = json.loads(row["input"]).values()
    if " for " in second:
        return "A"
    return "C" if _brand(first) == _brand(second) else "B"


def _predict_pm(row: dict) -> str:
    first, second = json.loads(row["input"]).values()
    return "yes" if _brand(first["title"]) in second["title"].split() else "no"


def _esci(query: str, title: str) -> str:
    words = set(title.lower().replace(",", " ").split())
    query_words = query.split()
    if " for " in title:
        return "C"
    if all(w in words for w in query_words):
        return "E"
    return "S" if sum(w in words for w in query_words) >= 2 or query_words[-1] in words else "I"


def _predict_mpc(row: dict) -> str:
    parsed = json.loads(row["input"])
    return get_task("MPC").options[ESCI_ORDER.index(_esci(parsed["query"], parsed["product title"]))]


def _predict_psi(row: dict) -> str:
    parsed = json.loads(row["input"])
    return "yes" if _esci(parsed["query"], parsed["product"]) == "S" else "no"


def _predict_qpr(row: dict) -> str:
    parsed = json.loads(row["input"])
    labelled = [(p.split(": ", 1)[0], _esci(parsed["query"], p.split(": ", 1)[1])) for p in parsed["product list"]]
    return ",".join(letter for letter, label in sorted(labelled, key=lambda x: ESCI_ORDER.index(x[1])))


def _predict_sr(row: dict) -> str:
    last_line = ast.literal_eval(row["input"])[-1].split(". ")[2]
    for option in ast.literal_eval(row["options"]):
        if option.split(". ")[2] == last_line:
            return option[0]
    return "A"


def _predict_ap(row: dict) -> str:
    parsed = json.loads(row["input"])
    question, document = parsed["question"].lower(), " ".join(parsed["document"]).lower()
    asked = [p for p in QA_PROPERTIES if any(k in question for k in p.keywords)]
    return "yes" if any(k in document for p in asked for k in p.keywords) else "no"


RULES = {"PRP": _predict_prp, "PM": _predict_pm, "MPC": _predict_mpc, "PSI": _predict_psi,
         "QPR": _predict_qpr, "SR": _predict_sr, "AP": _predict_ap}


@pytest.mark.parametrize("code", sorted(RULES))
def test_a_keyword_rule_reads_the_signal(by_task, code):
    for test_rows in (_split_rows(by_task[code], "test"), _ood_test(by_task[code])):
        if test_rows:
            assert _accuracy(test_rows, RULES[code]) >= 0.9


def test_bag_of_words_learns_sentiment_from_train(by_task):
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression

    train = _split_rows(by_task["SA"], "train")
    vectorizer = CountVectorizer(ngram_range=(1, 2))
    model = LogisticRegression(max_iter=2000).fit(vectorizer.fit_transform([r["input"] for r in train]),
                                                  [r["output"] for r in train])
    for test_rows in (_split_rows(by_task["SA"], "test"), _ood_test(by_task["SA"])):
        predicted = model.predict(vectorizer.transform([r["input"] for r in test_rows]))
        accuracy = sum(p == r["output"] for p, r in zip(predicted, test_rows, strict=True)) / len(test_rows)
        assert accuracy >= 0.6  # chance is 0.2


def test_labels_are_balanced_enough_to_learn(by_task):
    for code in ("PRP", "PM", "SA", "MPC", "PSI", "AP"):
        labels = Counter(r["output"] for r in _split_rows(by_task[code], "train"))
        assert len(labels) == (len(get_task(code).options) if get_task(code).options else 2)
        assert min(labels.values()) >= DEFAULT_SIZES["train"] // (2 * len(labels))
