import pytest

from ecinstruct import CONFIGS, SETTINGS, TASKS, UnknownNameError, get_config, get_setting, get_task


def test_ten_tasks_in_paper_order_with_published_names():
    assert [t.code for t in TASKS] == ["AVE", "PRP", "PM", "SA", "SR", "MPC", "PSI", "QPR", "AP", "AG"]
    assert get_task("PRP").name == "Product_Relation_Prediction"
    assert get_task("PSI").name == "Product_Substitute_Identification"
    assert get_task("QPR").name == "Query_Product_Rank"
    assert [t.code for t in TASKS if t.has_ood] == ["AVE", "PRP", "SA", "SR", "AP", "AG"]


@pytest.mark.parametrize(
    ("key", "code"),
    [("ave", "AVE"), ("Sentiment_Analysis", "SA"), (" sr ", "SR"), ("Product_Relation_Predicition", "PRP"),
     ("Product_Substitue_Identification", "PSI"), ("Query_Product_Ranking", "QPR")],
)
def test_lookup_by_code_name_and_reference_misspellings(key, code):
    assert get_task(key).code == code


def test_unknown_task_names_the_valid_ones():
    with pytest.raises(UnknownNameError, match=r"unknown task 'XYZ'.*AVE.*Answer_Generation"):
        get_task("XYZ")


def test_option_sets():
    assert get_task("PRP").option_letters == ("A", "B", "C")
    assert get_task("SA").options[0] == "A: very positive"
    assert get_task("MPC").option_letters == ("A", "B", "C", "D")
    sr = get_task("SR")
    assert sr.has_options and sr.options is None and sr.options_format == "python"
    assert all(t.options is None for t in TASKS if t.code in {"AVE", "PM", "PSI", "QPR", "AP", "AG"})


def test_headline_metrics_follow_the_paper():
    assert {t.code: t.headline_metric for t in TASKS} == {
        "AVE": "F1*", "PRP": "Macro-F1", "PM": "F1", "SA": "Macro-F1", "SR": "HR@1",
        "MPC": "Accuracy", "PSI": "F1", "QPR": "NDCG", "AP": "F1", "AG": "F_BERT",
    }


def test_settings_and_split_names():
    assert len(SETTINGS) == 8
    ind = get_setting("IND_Diverse_Instruction")
    assert [ind.split_name(s) for s in ("train", "val", "test")] == ["train", "validation", "test_ind"]
    assert get_setting("OOD_Unseen_Instruction").split_name("test") == "test_ood"
    with pytest.raises(ValueError, match="only test rows"):
        get_setting("OOD_Single_Instruction").split_name("train")
    with pytest.raises(UnknownNameError, match="unknown setting"):
        get_setting("IND_Diverse")


def test_configs():
    assert list(CONFIGS) == ["default", *(t.config_name for t in TASKS), "single_instruction",
                             "unseen_instruction", "one_shot"]
    assert get_config("AVE").tasks == (get_task("AVE"),)
    assert {s.name for s in get_config("one_shot").settings} == {
        "IND_Diverse_Instruction_1-shot", "OOD_Diverse_Instruction_1-shot"}
    with pytest.raises(UnknownNameError, match="unknown config 'everything'"):
        get_config("everything")
