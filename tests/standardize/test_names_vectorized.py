"""The names' fast path answers exactly what standardize_name answers: on every name the demo's people
are made of (each surname with each given name, one and two characters), their traditional and
homophone spellings, names with titles, spaces, compound surnames and surnames read their own way,
phrases of pypinyin's dictionary, companies, places with their level, Latin names, and random strings
of the whole basic CJK block (characters pypinyin does not read among them)."""

import random

import polars as pl
import pytest

from cdp.demo import catalogue as cat
from cdp.demo.noise import homophone_variants, to_traditional
from cdp.standardize.names import CJK_TITLES, COMPOUND_SURNAMES, SURNAME_READINGS, standardize_name
from cdp.standardize.names_vectorized import name_fast
from cdp.standardize.records import distinct_lookup
from cdp.standardize.vectorized import FAST_PATHS

OUTPUTS = {"name": pl.Utf8, "name_pinyin": pl.Utf8, "name_pinyin_alt": pl.Utf8, "name_is_company": pl.Boolean}


def demo_names() -> list[str]:
    """Every surname of the demo with every given name it can draw (one and two characters)."""
    given = [f + last for gender in cat.GIVEN_FIRST for f in cat.GIVEN_FIRST[gender] for last in cat.GIVEN_LAST[gender]]
    given += [last for gender in cat.GIVEN_LAST for last in cat.GIVEN_LAST[gender]]
    rng = random.Random(5)
    return [*{s + g for s in cat.SURNAME_LIST for g in rng.sample(given, 60)}, *(n for n, _ in cat.COMMON_NAMES)]


def name_values() -> list[str]:
    names = demo_names()
    rng = random.Random(11)
    every = [chr(c) for c in range(0x4E00, 0xA000)]
    spelt = [
        *to_traditional(pl.Series(names)).to_list(),
        *(v for n in names[::20] for v in homophone_variants(n)),
        *(n + rng.choice(CJK_TITLES) for n in names[::15]), *(n[0] + t for n in names[::40] for t in CJK_TITLES[:3]),
        *(n[0] + " " + n[1:] for n in names[::25]), *(n[0] + "\u3000" + n[1:] for n in names[::25]),
        *(c + "娜娜" for c in COMPOUND_SURNAMES), *(c + "伟" for c in COMPOUND_SURNAMES), *COMPOUND_SURNAMES,
        *(s + "建国" for s in SURNAME_READINGS), *(s + "伟" for s in SURNAME_READINGS), *(s + "秀英" for s in SURNAME_READINGS),
        "长孙无忌", "重庆", "单于", "吕绿", "女士", "先生", "王", "李", "王先生", "Wang Wei", "王A伟", "李1", "王·伟",
        "北京市李强", "广州市", "天津市王", "深圳市李", "杭州市张", "浙江省", "苏州市", "西安市",
        "深圳刘伟", "恒通物流", "恒通物流有限公司", "王伟车行", "李娜银行", "张伟中心",
        "欧阳娜娜娜", "王二小三四",
    ]
    random_strings = ["".join(rng.choice(every) for _ in range(rng.randint(1, 5))) for _ in range(20000)]
    return [*names, *spelt, *random_strings]


def test_the_names_cover_both_paths():
    answered, rest = name_fast(pl.Series(name_values()).unique())
    assert answered.height > 10000 and rest.len() > 10000
    answered, _ = name_fast(pl.Series(["王伟", "張偉", "王先生", "长孙无忌", "恒通物流有限公司"]))
    assert answered.get_column("value").to_list() == ["王伟"]


@pytest.mark.parametrize("values", [demo_names, name_values])
def test_the_fast_path_answers_what_standardize_name_answers(values):
    assert FAST_PATHS[standardize_name] is name_fast
    series = pl.Series("v", values())
    looked_up = distinct_lookup(series, "v", standardize_name, OUTPUTS)
    expected = {v: tuple(standardize_name(v)) for v in series.unique()}
    assert looked_up.height == len(expected)
    assert {row[0]: tuple(row[1:]) for row in looked_up.iter_rows()} == expected


def test_nothing_to_answer():
    answered, rest = name_fast(pl.Series("v", ["Wang Wei", "恒通物流有限公司"]))
    assert answered.is_empty() and sorted(rest.to_list()) == ["Wang Wei", "恒通物流有限公司"]
