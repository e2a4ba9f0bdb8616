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
    name, pinyin, _, _ = standardize_name("张玮")
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
    name, _, _, is_company = standardize_name(raw)
    assert name == "恒通物流" and is_company


def test_company_key_keeps_names_without_legal_form():
    assert company_key("中国银行") == "中国银行"


def test_empty_names_are_null():
    assert standardize_name("  ") == (None, None, None, False)
    assert standardize_name(None) == (None, None, None, False)


def test_company_exported_without_legal_form_is_still_a_company():
    assert standardize_name("广州市中凯工程") == standardize_name("中凯工程有限公司")
    assert standardize_name("广州市中凯工程")[3]


def test_four_character_person_names_stay_persons():
    assert standardize_name("欧阳娜娜")[3] is False


@pytest.mark.parametrize("raw", ["Na Wan", "NA  WAN", "N a Wan", "Wan Na", "wan na", "Wán Nà", "wan2 na4", "萬娜"])
def test_latin_names_meet_the_chinese_name_in_either_order(raw):
    """万娜 / "Na Wan": the same pinyin in one order or the other, whatever the spacing, case or tones."""
    _, pinyin, other, _ = standardize_name(raw)
    _, chinese, chinese_other, _ = standardize_name("万娜")
    assert {pinyin, other} == {chinese, chinese_other} == {"wanna", "nawan"}


def test_spacing_typo_inside_a_latin_syllable_is_repaired():
    assert standardize_name("L iu Wei")[1:3] == standardize_name("刘伟")[1:3]
    assert standardize_name("Wei L iu")[1:3] == ("liuwei", "weiliu")


@pytest.mark.parametrize("raw, name", [("赵玉娟女士", "赵玉娟"), ("王先生", "王"), ("李小姐", "李"), ("Mr. Wang Wei", "wang wei"),
                                       ("张伟老师", "张伟")])
def test_titles_are_not_part_of_the_name(raw, name):
    assert standardize_name(raw)[0] == name
    assert standardize_name(raw)[3] is False  # 赵玉娟女士 is a person, not a company


def test_long_names_without_company_words_are_persons():
    assert standardize_name("买买提·艾力")[3] is False
    assert standardize_name("广州恒通物流有限公司")[3] is True
