import hashlib
from collections import Counter

import datasets
import pytest

import ecinstruct
from ecinstruct.errors import SourceError, UnknownNameError
from ecinstruct.export import read_counts, write_hub_layout
from ecinstruct.published import iter_records
from ecinstruct.settings import CONFIGS, get_config, get_setting
from ecinstruct.tasks import get_task


def expected_counts(sample_rows, config_name):
    spec = get_config(config_name)
    counts = Counter()
    for row in sample_rows:
        task, setting = get_task(row["task"]), get_setting(row["setting"])
        if spec.contains(task, setting):
            counts[setting.split_name(row["split"])] += 1
    return dict(counts)


@pytest.mark.parametrize("config", list(CONFIGS))
def test_every_config_loads_from_the_published_file_and_the_layout(config, sample_rows, sample_file,
                                                                 built_folder, tmp_path):
    expected = expected_counts(sample_rows, config)
    from_file = ecinstruct.load(sample_file, config, cache_dir=tmp_path / "c1")
    plain = datasets.load_dataset(str(built_folder), config, cache_dir=str(tmp_path / "c2"))
    assert {s: len(d) for s, d in from_file.items()} == expected
    assert {s: len(d) for s, d in plain.items()} == expected
    for split in expected:
        assert from_file[split]["id"] == plain[split]["id"]
        assert from_file[split].features == ecinstruct.schema.FEATURES


def test_split_sizes_of_the_default_config(sample_file, tmp_path, small_sizes):
    ds = ecinstruct.load(sample_file, "default", cache_dir=tmp_path)
    assert len(ds["train"]) == 10 * small_sizes["train"]
    assert len(ds["test_ind"]) == 10 * small_sizes["test_ind"]
    assert len(ds["test_ood"]) == 6 * small_sizes["test_ood"]
    assert set(ds["test_ood"]["task_code"]) == {"AVE", "PRP", "SA", "SR", "AP", "AG"}


def test_absent_splits_are_dropped(sample_file, tmp_path):
    assert set(ecinstruct.load(sample_file, "pm", cache_dir=tmp_path)) == {"train", "validation", "test_ind"}
    assert set(ecinstruct.load(sample_file, "unseen_instruction", cache_dir=tmp_path)) == {"test_ind", "test_ood"}


def test_column_values(sample_file, tmp_path):
    ds = ecinstruct.load(sample_file, "default", cache_dir=tmp_path)["test_ind"]
    by_task = {}
    for row in ds:
        by_task.setdefault(row["task_code"], row)
    assert by_task["AVE"]["options"] is None and by_task["PSI"]["options"] is None
    assert by_task["SA"]["options"] == list(get_task("SA").options)
    assert len(by_task["SR"]["options"]) == 20 and by_task["SR"]["options"][19].startswith("T: ")
    assert len(by_task["QPR"]["option_labels"]) >= 2
    assert by_task["PRP"]["split"] == "test"  # the published split column keeps its meaning
    one_shot = ecinstruct.load(sample_file, "one_shot", cache_dir=tmp_path)["test_ind"]
    assert all(one_shot["few_shot_example"])


def test_layout_folder_through_load(built_folder, tmp_path):
    ds = ecinstruct.load(built_folder, "sr", cache_dir=tmp_path)
    assert set(ds) == {"train", "validation", "test_ind", "test_ood"}
    assert ds["train"][0]["task_code"] == "SR"


def test_card_declares_configs_splits_counts_and_license(built_folder):
    from huggingface_hub import DatasetCard

    card = DatasetCard.load(built_folder / "README.md")
    data = card.data.to_dict()
    assert data["license"] == "cc-by-4.0"
    assert [c["config_name"] for c in data["configs"]] == list(CONFIGS)
    infos = {i["config_name"]: {s["name"]: s["num_examples"] for s in i["splits"]} for i in data["dataset_info"]}
    counts = read_counts(built_folder)
    assert infos["ave"]["train"] == counts[("default", "AVE", "train")]
    assert sum(infos["default"].values()) == sum(n for (g, _, _), n in counts.items() if g == "default")


def _digest(folder):
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_rebuild_is_byte_identical(sample_file, built_folder, tmp_path):
    again = tmp_path / "ECInstruct"
    write_hub_layout(iter_records(sample_file), again, numbered=True)
    assert _digest(again) == _digest(built_folder)


def test_build_replaces_the_folder_atomically(sample_file, tmp_path):
    out = tmp_path / "hub"
    write_hub_layout(iter_records(sample_file), out, numbered=True)
    with pytest.raises(ecinstruct.RowFormatError):
        write_hub_layout([{"task": "nope"}], out)
    assert (out / "README.md").is_file()  # the failed build left the previous folder intact
    assert [p.name for p in tmp_path.iterdir()] == ["hub"]  # and no staging leftovers


def test_bad_sources_and_names(tmp_path, sample_file):
    with pytest.raises(UnknownNameError, match="unknown config 'xyz'"):
        ecinstruct.load(sample_file, "xyz")
    with pytest.raises(SourceError, match="Hub layout"):
        ecinstruct.load(tmp_path, "default")
    with pytest.raises(SourceError, match="no such file or folder"):
        ecinstruct.load("./missing/dataset.json")


def test_lenient_load_skips_bad_rows(tmp_path, sample_file):
    lines = sample_file.read_text().splitlines()
    lines[0] = lines[0].replace('"IND_Diverse_Instruction"', '"IND_Whatever"')
    path = tmp_path / "dataset.json"
    path.write_text("\n".join(lines))
    with pytest.raises(ecinstruct.RowFormatError, match="row 1: unknown setting"):
        ecinstruct.load(path, "ave", cache_dir=tmp_path / "a")
    strict_count = len(ecinstruct.load(sample_file, "ave", cache_dir=tmp_path / "b")["train"])
    lenient = ecinstruct.load(path, "ave", strict=False, cache_dir=tmp_path / "c")
    assert len(lenient["train"]) == strict_count - 1


def test_streaming(sample_file, tmp_path, small_sizes):
    stream = ecinstruct.load(sample_file, "qpr", streaming=True, cache_dir=tmp_path)
    assert [r["task_code"] for r in stream["train"]] == ["QPR"] * small_sizes["train"]
