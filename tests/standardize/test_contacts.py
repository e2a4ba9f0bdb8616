from datetime import date

import pytest

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


def test_ten_digit_mobile_is_invalid():
    assert standardize_phone("1380013800") == (None, "invalid")


def test_landline_is_kept_but_flagged():
    number, kind = standardize_phone("020-87654321")
    assert kind == "landline" and number == "+862087654321"


def test_resident_id_gives_birth_date_gender_and_region():
    assert standardize_id_number("11010519491231002x") == ("11010519491231002X", "resident", date(1949, 12, 31), "F", "110105")


def test_resident_id_with_bad_check_digit_is_not_a_key():
    assert standardize_id_number("110105194912310021")[:2] == (None, "invalid")


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
