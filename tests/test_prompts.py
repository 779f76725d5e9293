import json

import pytest

from ecinstruct.errors import ECInstructError
from ecinstruct.prompts import build_prompt, chat_messages, clean_generation, extract_response, to_prompt_completion

HEAD = ("Below is an instruction that describes a task, paired with an input that provides further context. "
        "Write a response that appropriately completes the request.\n\n")
PSI_ROW = {"task": "Product_Substitute_Identification", "instruction": "Is it a substitute? Answer yes or no.",
           "input": '{"query": "boys shorts", "product": "Kids Shorts, Black"}', "options": None, "output": "no"}
PRP_OPTIONS = ["A: Users who buy product 1 may also buy product 2.",
               "B: Users who view product 1 may also view product 2.",
               "C: The product 1 is similar with the product 2."]
PRP_ROW = {"task": "Product_Relation_Prediction", "instruction": "Pick the relation.",
           "input": '{"Product 1:": "Scope Mount", "Product 2:": "Scope Rings"}', "options": PRP_OPTIONS,
           "output": "A"}


def test_alpaca_without_options():
    expected = (HEAD + "### Instruction:\nIs it a substitute? Answer yes or no.\n\n### Input:\n"
                '{"query": "boys shorts", "product": "Kids Shorts, Black"}\n\n### Response:\n')
    assert build_prompt(PSI_ROW, "alpaca") == expected


def test_alpaca_with_options_inserts_the_published_json_string():
    options = json.dumps(PRP_OPTIONS)
    expected = (HEAD + "### Instruction:\nPick the relation.\n\n### Input:\n" + PRP_ROW["input"]
                + "\n\n### Options:\n" + options + "\n\n### Response:\n")
    assert build_prompt(PRP_ROW, "alpaca") == expected
    assert build_prompt({**PRP_ROW, "options": options}, "alpaca") == expected  # published string form


def test_mistral_has_inst_tags_and_one_space_before_the_closing_tag():
    prompt = build_prompt(PSI_ROW, "mistral")
    assert prompt == ("[INST] " + HEAD + "### Instruction:\nIs it a substitute? Answer yes or no.\n\n### Input:\n"
                      + PSI_ROW["input"] + "\n\n [/INST] ### Response:\n")
    with_options = build_prompt(PRP_ROW, "mistral")
    assert with_options.endswith("### Options:\n" + json.dumps(PRP_OPTIONS) + "\n\n [/INST] ### Response:\n")


def test_sr_options_use_the_python_literal_form():
    options = ["A: Glass Bottle 4oz. Home & Kitchen.", "B: Small Screen, 38''W x 31''H. Home & Kitchen."]
    row = {"task": "SR", "instruction": "Next?", "input": "['1st: Mug.']", "options": options, "output": "A"}
    assert "### Options:\n" + str(options) + "\n\n" in build_prompt(row)
    assert str(options).endswith('"B: Small Screen, 38\'\'W x 31\'\'H. Home & Kitchen."]')


def test_empty_string_options_mean_no_options_block():
    assert "### Options" not in build_prompt({**PSI_ROW, "options": ""})


def test_one_shot_puts_a_solved_example_before_the_query():
    example = json.dumps({"input": '{"Product 1:": "A", "Product 2:": "B"}', "options": json.dumps(PRP_OPTIONS),
                          "output": "C"})
    prompt = build_prompt({**PRP_ROW, "few_shot_example": example}, "alpaca")
    first, second = prompt.split("### Response:\nC\n\n")
    assert first.endswith("### Options:\n" + json.dumps(PRP_OPTIONS) + "\n\n")
    assert second.startswith("### Input:\n" + PRP_ROW["input"]) and second.endswith("### Response:\n")
    with pytest.raises(ECInstructError, match="few_shot_example must be a JSON object"):
        build_prompt({**PRP_ROW, "few_shot_example": "not json"})


def test_chat_format_gives_messages_with_options_one_per_line():
    example = to_prompt_completion(PRP_ROW, "chat")
    (user,) = example["prompt"]
    assert user["role"] == "user" and user["content"].startswith("Pick the relation.\n\nInput:\n")
    assert "\n\nOptions:\n" + "\n".join(PRP_OPTIONS) in user["content"]
    assert example["completion"] == [{"role": "assistant", "content": "A"}]
    assert chat_messages(PSI_ROW)[0]["content"].count("Options") == 0


def test_text_prompt_completion_pairs():
    assert to_prompt_completion(PSI_ROW, "mistral") == {"prompt": build_prompt(PSI_ROW, "mistral"), "completion": "no"}


def test_response_extraction_like_the_reference_and_strict():
    generated = build_prompt(PSI_ROW, "alpaca") + " yes \n### Response:\nno"
    assert extract_response(generated, "alpaca") == "yes"
    mistral = build_prompt(PSI_ROW, "mistral") + "no"
    assert extract_response(mistral, "mistral") == "no"
    assert clean_generation(" B\n\n### Instruction:\nmore", "alpaca") == "B"
