import random
from datetime import date

import pytest
from stdnum.cn import ric

from cdp.standardize.contacts import (
    split_address,
    standardize_id_number,
    standardize_phone,
    standardize_plate,
    standardize_vin,
)


@pytest.mark.parametrize(
    "raw", ["13800138000", "+86 138-0013-8000", "0086 13800138000", "138 0013 8000", "１３８００１３８０００", "86-13800138000"]
)
def test_mobile_variants_canonicalize(raw):
    assert standardize_phone(raw) == ("13800138000", "mobile")


@pytest.mark.parametrize("raw", ["138 0013 8000 转 8", "13800138000 ext. 8", "138-0013-8000-8", "13800138000 分机 123",
                                 "+86 138-0013-8000 x8", "13800138000#8"])
def test_mobile_with_an_extension_is_the_mobile(raw):
    assert standardize_phone(raw) == ("13800138000", "mobile")


@pytest.mark.parametrize("raw", ["1380013800", "138001380008", "1380013800 转 8"])
def test_ten_digit_or_run_on_mobile_stays_invalid(raw):
    assert standardize_phone(raw) == (None, "invalid")


def test_raw_vin_and_id_number_are_kept_when_the_check_fails():
    from cdp.standardize.contacts import normalize_id_raw, normalize_vin_raw

    assert normalize_vin_raw(" 1m8gdm9oxkp042788 ") == "1M8GDM9OXKP042788"  # O for 0: invalid, still the car
    assert standardize_vin("1M8GDM9OXKP042788")[1] is False
    assert normalize_id_raw("110105-19491231-0021") == "110105194912310021"  # bad check digit, still the number
    assert standardize_id_number("110105194912310021")[0] is None
    assert normalize_vin_raw("12345") is None


def test_ten_digit_mobile_is_invalid():
    assert standardize_phone("1380013800") == (None, "invalid")


def test_landline_is_kept_but_flagged():
    number, kind = standardize_phone("020-87654321")
    assert kind == "landline" and number == "+862087654321"


def test_resident_id_gives_birth_date_gender_and_region():
    assert standardize_id_number("11010519491231002x") == ("11010519491231002X", "resident", date(1949, 12, 31), "F", "110105")


def test_resident_id_with_bad_check_digit_is_not_a_key():
    assert standardize_id_number("110105194912310021")[:2] == (None, "invalid")


def test_resident_id_in_an_unknown_county_is_invalid_not_an_error():
    # stdnum's ric.is_valid raises KeyError here (province 11 known, county 110001 not)
    assert standardize_id_number("110001199001011231")[:2] == (None, "invalid")


def _stdnum_valid(number: str) -> bool:
    try:
        return ric.is_valid(number)
    except KeyError:  # stdnum fails on region codes of a province or city: no county, not a valid ID
        return False


def test_resident_id_check_agrees_with_stdnum():
    """The cached region lookup gives stdnum's verdict: valid, bad check digit, bad date, unknown
    region, and a county code used only in some years (330106 before/after its range)."""
    rng = random.Random(11)
    candidates = []
    for _ in range(3000):
        body = (f"{rng.choice(['110105', '330106', '440106', '999999', '632801', str(rng.randint(110000, 659999))])}"
                f"{rng.randint(1900, 2020)}{rng.randint(1, 13):02d}{rng.randint(1, 31):02d}{rng.randint(0, 999):03d}")
        digit = ric.calc_check_digit(body + "0")
        candidates += [body + digit, body + ("0" if digit != "0" else "1")]
    verdicts = [(standardize_id_number(c)[1] == "resident", _stdnum_valid(c)) for c in candidates]
    assert all(ours == theirs for ours, theirs in verdicts)
    assert 100 < sum(theirs for _, theirs in verdicts) < len(verdicts) - 100  # both outcomes exercised


def test_credit_code_is_recognised():
    assert standardize_id_number("91110000600037341L")[1] == "uscc"


def test_vin_is_uppercased_and_check_digit_verified():
    assert standardize_vin(" 1m8gdm9axkp042788 ") == ("1M8GDM9AXKP042788", True)
    assert standardize_vin("1M8GDM9AXKP042789") == ("1M8GDM9AXKP042789", False)
    assert standardize_vin("1M8GDM9OXKP042788")[1] is False  # O is not a VIN character


def test_plate_normalized():
    assert standardize_plate("粤a·12345") == "粤A12345"
    assert standardize_plate("粤A 1234") is None


def test_address_split():
    assert split_address("广东省广州市天河区体育西路1号") == ("广东", "广州", "天河区")
    assert split_address("上海市浦东新区世纪大道100号") == ("上海", "上海", "浦东新区")


def test_email_lower_cased_and_validated():
    from cdp.standardize.contacts import standardize_email

    assert standardize_email(" Zhang.Wei@QQ.com ") == "zhang.wei@qq.com"
    assert standardize_email("ｚｗ＠１６３．ｃｏｍ") == "zw@163.com"
    assert standardize_email("not an email") is None
