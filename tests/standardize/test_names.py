import pytest

from cdp.standardize.names import company_key, standardize_name


@pytest.mark.parametrize(
    "raw",
    ["张伟", "張偉", "张 伟", "张　伟 ", "Zhang Wei", "ZHANG WEI", "Wei Zhang", "张玮"],
)
def test_variants_of_one_name_share_a_pinyin_key(raw):
    assert standardize_name(raw)[1] == "zhangwei"


def test_traditional_and_full_width_become_the_simplified_name():
    assert standardize_name("張　偉")[0] == "张伟"


def test_homophone_typo_keeps_its_own_spelling_but_not_its_own_pinyin():
    name, pinyin, _ = standardize_name("张玮")
    assert name == "张玮" and pinyin == standardize_name("张伟")[1]


def test_surname_reading_is_used_for_heteronyms():
    assert standardize_name("单丽")[1] == "shanli"
    assert standardize_name("曾明")[1] == "zengming"


def test_latin_names_are_put_surname_first():
    assert standardize_name("Xiaoming Zhang")[1] == standardize_name("张小明")[1]
    assert standardize_name("Na Li")[0] == "li na"


@pytest.mark.parametrize(
    "raw",
    ["广州市恒通物流有限公司", "恒通物流有限公司", "广东省广州市恒通物流股份有限公司天河分公司", "恒通物流集团"],
)
def test_company_names_compare_without_place_and_legal_form(raw):
    name, _, is_company = standardize_name(raw)
    assert name == "恒通物流" and is_company


def test_company_key_keeps_names_without_legal_form():
    assert company_key("中国银行") == "中国银行"


def test_empty_names_are_null():
    assert standardize_name("  ") == (None, None, False)
    assert standardize_name(None) == (None, None, False)


def test_company_exported_without_legal_form_is_still_a_company():
    assert standardize_name("广州市中凯工程") == standardize_name("中凯工程有限公司")
    assert standardize_name("广州市中凯工程")[2]


def test_four_character_person_names_stay_persons():
    assert standardize_name("欧阳娜娜")[2] is False
