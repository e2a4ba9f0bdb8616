"""The vectorized identifier checks answer exactly what the Python standardizers (and through them
python-stdnum, vininfo and phonenumbers) answer: on generated valid numbers, on every one-character
typo of them, on impossible dates, unknown regions and years without a check digit, on mobiles in
every spelling the extracts use and near misses, on each of these in lower case and full width, and on
plates. The names' fast path answers what standardize_name answers: on every name the demo's people are
made of, their traditional and homophone spellings, names with titles, spaces, compound surnames and
surnames read their own way, phrases of pypinyin's dictionary, companies, places with their level, Latin
names, and random strings of the whole basic CJK block (characters pypinyin does not read among them)."""

import random
from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
from stdnum.cn import ric, uscc
from vininfo import Vin

from cdp.demo import catalogue as cat
from cdp.demo.catalogue import resident_id_regions
from cdp.demo.identifiers import make_resident_ids, make_usccs, make_vins
from cdp.demo.noise import homophone_variants, to_traditional
from cdp.standardize.contacts import (
    id_number_and_raw,
    known_birth_place,
    plate_alone,
    standardize_id_number,
    standardize_phone,
    standardize_vin,
    vin_and_raw,
)
from cdp.standardize.names import CJK_TITLES, COMPOUND_SURNAMES, SURNAME_READINGS, standardize_name
from cdp.standardize.names_vectorized import name_fast
from cdp.standardize.records import distinct_lookup
from cdp.standardize.vectorized import (
    FAST_PATHS,
    PLAIN_VIN,
    birth_place_years,
    resident_check_ok,
    uscc_ok,
    vin_check_ok,
)

RNG = np.random.default_rng(3)
ID_OUTPUTS = {"id": pl.Utf8, "kind": pl.Utf8, "born": pl.Date, "gender": pl.Utf8, "region": pl.Utf8}
VIN_OUTPUTS = {"vin": pl.Utf8, "ok": pl.Boolean}
NAME_OUTPUTS = {"name": pl.Utf8, "name_pinyin": pl.Utf8, "name_pinyin_alt": pl.Utf8, "name_is_company": pl.Boolean}
WIDE = str.maketrans("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
                     "０１２３４５６７８９ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ")


def as_typed(values: list[str], every: int = 7) -> list[str]:
    """Some of the values as extracts also type them: lower case, full width, both, a few letters lower."""
    picked = values[::every]
    return [*(v.lower() for v in picked), *(v.translate(WIDE) for v in picked), *(v.lower().translate(WIDE) for v in picked),
            *(v[:5].lower() + v[5:] for v in picked)]


def typos(values: list[str], alphabet: str, per_value: int = 3) -> list[str]:
    """Each value with a few single characters replaced (any position, the check digit included)."""
    out = []
    for value in values:
        for _ in range(per_value):
            i = int(RNG.integers(len(value)))
            out.append(value[:i] + alphabet[int(RNG.integers(len(alphabet)))] + value[i + 1:])
    return out


def resident_ids(n: int) -> list[str]:
    codes = np.concatenate([resident_id_regions(p)[0] for p in ("1101", "3101", "4401", "5101", "2301")])
    days = RNG.integers((date(1930, 1, 1) - date(1970, 1, 1)).days, (date(2010, 1, 1) - date(1970, 1, 1)).days, n)
    return make_resident_ids(RNG.choice(codes, n), days, RNG.integers(0, 1000, n)).to_list()


def with_check(body17: str) -> str:
    """A resident-ID shape with a correct check digit, whatever the body says."""
    return body17 + ric.calc_check_digit(body17 + "0")


def odd_resident_ids() -> list[str]:
    """Correct check digits on impossible or unknown contents: no such day, year 0, unknown region,
    a region not yet (or no longer) in use in the birth year."""
    bodies = ["11010119990229001", "11010120000229001", "11010119901301001", "11010119900100001", "11010100000101001",
              "99999919900101001", "11010518000101001", "11010199991231001", "65290119890615001", "11011219560101001"]
    return [with_check(b) for b in bodies]


def usccs(n: int) -> list[str]:
    return make_usccs(RNG.integers(110000, 660000, n), RNG.integers(0, 10, (n, 8))).to_list()


def vins(n: int) -> list[str]:
    wmis = np.array([[ord(c) for c in w] for w in ("LSV", "LFV", "WVW", "VF1", "6FP", "KMH", "JTD", "LGB", "XTA")],
                    np.uint8)
    letters = np.frombuffer(b"ABCDEFGHJKLMNPRSTUVWXYZ0123456789", np.uint8)
    return make_vins(wmis[RNG.integers(0, len(wmis), n)], RNG.choice(letters, (n, 5)), RNG.integers(1995, 2026, n),
                     RNG.choice(letters, n), RNG.integers(0, 10**6, n)).to_list()


def id_values() -> list[str]:
    residents, credit = resident_ids(400), usccs(200)
    values = [*residents, *typos(residents, "0123456789X"), *credit, *typos(credit, "0123456789ABCDEFGHJKLMNPQRTUWXYZIOSV"),
              *odd_resident_ids(), residents[0].lower(), f" {residents[1]}", residents[2][:17] + "x", "1" * 18, "A" * 18,
              residents[3][:15], f"{residents[4][:6]}-{residents[4][6:]}", "１" + residents[5][1:]]
    return [*values, *as_typed(values), residents[6][:17] + "ｘ", residents[7].lower() + "x", "Ⅻ" + residents[8][1:]]


def vin_values() -> list[str]:
    plain = vins(400)
    values = [*plain, *typos(plain, "ABCDEFGHJKLMNPRSTUVWXYZ0123456789IOQ"),
              *[v[:9] + year + v[10:] for v, year in zip(plain, "UZ0UZ0", strict=False)], plain[0].lower(), plain[1][:16],
              f"{plain[2][:8]} {plain[2][8:]}"]
    return [*values, *as_typed(values), plain[3][:16] + "ⅰ", "ß" + plain[4][1:], plain[5].lower() + "-"]


def plate_values() -> list[str]:
    """Plates of 6 and 7 characters after the province, in either case and width, and near misses: a
    digit where the city letter goes, too short or long, separators, a Latin first character."""
    letters, digits = "ABCDEFGHJKLMNPQRSTUVWXYZ", "0123456789"
    plates = []
    for i in range(300):
        tail = "".join(RNG.choice(list(letters + digits), 5 + i % 2))
        plates.append("粤沪浙京川"[i % 5] + letters[int(RNG.integers(len(letters)))] + tail)
    near = [p[0] + "1" + p[2:] for p in plates[:20]] + [p[:-2] for p in plates[:20]] + [p + "9A" for p in plates[:20]]
    return [*plates, *as_typed(plates, 3), *near, *(f"{p[:2]}·{p[2:]}" for p in plates[:20]),
            *(f"{p[:2]} {p[2:]}" for p in plates[:20]), *("A" + p[1:] for p in plates[:20]), "粤", "", " 粤B12345"]


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


def test_the_values_cover_both_paths_and_both_answers():
    ids, vin, plates = pl.Series(id_values()), pl.Series(vin_values()), pl.Series(plate_values())
    for fn, values in ((standardize_id_number, ids), (standardize_vin, vin), (plate_alone, plates)):
        answered, rest = FAST_PATHS[fn](values.unique())
        assert answered.height > 0.8 * values.n_unique() and rest.len() > 0, fn
    assert {p is None for (p,) in map(plate_alone, plates)} == {True, False}
    kinds = {standardize_id_number(v)[1] for v in ids}
    assert kinds == {"resident", "uscc", "invalid"}
    assert {standardize_vin(v)[1] for v in vin} == {True, False}
    assert not all(getattr(Vin(v).assembler, "uses_sae_checkdigit", True) for v in vin if len(v) == 17 and v.isalnum()
                   and v.isupper()), "a manufacturer without the SAE check digit (Renault's VF1)"


@pytest.mark.parametrize(("fn", "values", "outputs"), [
    (standardize_id_number, id_values, ID_OUTPUTS),
    (id_number_and_raw, id_values, {**ID_OUTPUTS, "raw": pl.Utf8}),
    (standardize_vin, vin_values, VIN_OUTPUTS),
    (vin_and_raw, vin_values, {**VIN_OUTPUTS, "raw": pl.Utf8}),
    (plate_alone, plate_values, {"plate": pl.Utf8}),
    (standardize_name, demo_names, NAME_OUTPUTS),
    (standardize_name, name_values, NAME_OUTPUTS),
])
def test_fast_paths_answer_what_the_python_standardizer_answers(fn, values, outputs):
    assert fn in FAST_PATHS
    series = pl.Series("v", values())
    looked_up = distinct_lookup(series, "v", fn, outputs)
    expected = {v: tuple(fn(v)) for v in series.unique()}
    assert looked_up.height == len(expected)
    assert {row[0]: tuple(row[1:]) for row in looked_up.iter_rows()} == expected


def test_the_names_cover_both_paths():
    answered, rest = name_fast(pl.Series(name_values()).unique())
    assert answered.height > 10000 and rest.len() > 10000
    answered, _ = name_fast(pl.Series(["王伟", "張偉", "王先生", "长孙无忌", "恒通物流有限公司"]))
    assert answered.get_column("value").to_list() == ["王伟"]


def test_nothing_to_answer():
    answered, rest = name_fast(pl.Series("v", ["Wang Wei", "恒通物流有限公司"]))
    assert answered.is_empty() and sorted(rest.to_list()) == ["Wang Wei", "恒通物流有限公司"]


def test_check_expressions_agree_with_the_libraries():
    ids = pl.DataFrame({"v": [v for v in id_values() if len(v) == 18 and v.isascii() and v.isalnum() and v.isupper()]})
    checked = ids.select("v", resident_check_ok(pl.col("v")).alias("ric"), uscc_ok(pl.col("v")).alias("uscc"))
    for value, ric_ok, uscc_valid in checked.iter_rows():
        assert ric_ok == (value[:17].isdigit() and value[-1] == ric.calc_check_digit(value)), value
        assert uscc_valid == uscc.is_valid(value), value
    plain = [v for v in vin_values() if pl.Series([v]).str.contains(PLAIN_VIN).item()
             and getattr(Vin(v).assembler, "uses_sae_checkdigit", True)]
    checked = pl.DataFrame({"v": plain}).select("v", vin_check_ok(pl.col("v")).alias("ok"))
    for value, ok in checked.iter_rows():
        assert ok == Vin(value).verify_checksum(), value


def test_birth_dates_cover_every_day_of_a_leap_year():
    days = [date(2000, 1, 1) + timedelta(d) for d in range(366)]
    values = [with_check(f"110101{d:%Y%m%d}001") for d in days]
    looked_up = distinct_lookup(pl.Series(values), "v", standardize_id_number, ID_OUTPUTS)
    assert looked_up.get_column("born").to_list() == days


def test_region_years_read_the_region_table_as_stdnum_does():
    """Every region code of a few provinces (and codes that are no county) in every birth year:
    counted by the spans exactly when ric.get_birth_place accepts it."""
    regions = [f"{code:06d}" for p in ("1101", "1102", "3101", "4403", "6529", "2301", "5101")
               for code in range(int(p) * 100, int(p) * 100 + 100)] + ["110000", "999999", "000000"]
    for region in regions:
        spans = birth_place_years(region)
        for year in range(1900, 2031, 3):
            counted = any(first <= year <= last for first, last in spans)
            assert counted == known_birth_place(region, f"{year:04d}"), (region, year)


def mobile_values() -> list[str]:
    """Mobiles in every spelling the demo extracts use, and near misses each way."""
    numbers = [f"1{RNG.integers(3, 10)}{RNG.integers(0, 10**9):09d}" for _ in range(60)]
    spellings = [
        "{}", "{0}{1}{2} {3}{4}{5}{6} {7}{8}{9}{10}", "{0}{1}{2}-{3}{4}{5}{6}-{7}{8}{9}{10}",
        "+86 {0}{1}{2}-{3}{4}{5}{6}-{7}{8}{9}{10}",
        "+86{}", "0086 {}", "86 {}", "86{}", "{}-8", "{}-123456", "{}-1234567", "{} 转 8", "{}转88", "{} ext. 8", "{} EXT 12",
        "{}x8", "{} X 8", "{}#8", "{} 分机 8", "{} ex 8", "{:.3}****{:.4}", " {}", "{} ", "{}\n", "{}--8", "{}-8-9",
        "+86  {}", "0086-{}", "+0086 {}", "{0}{1}{2}  {3}{4}{5}{6} {7}{8}{9}{10}", "{:.10}", "{}1", "2{}",
    ]
    values = []
    for number in numbers:
        for spelling in spellings:
            values.append(spelling.format(*number) if "{0}" in spelling else
                          spelling.format(number[:3], number[-4:]) if "****" in spelling else spelling.format(number))
    extended = [spelling.format(*number) for number in numbers[:20] for spelling in (
        "{0}{1}{2} {3}{4}{5}{6} {7}{8}{9}{10} 转 8", "+86 {0}{1}{2} {3}{4}{5}{6} {7}{8}{9}{10} 转 8",
        "0086-{0}{1}{2}-{3}{4}{5}{6}-{7}{8}{9}{10}x12", "86{0}{1}{2}{3}{4}{5}{6}{7}{8}{9}{10} EXT. 8",
        "{0}{1}{2}-{3}{4}{5}{6}-{7}{8}{9}{10}-8", "+86 {0}{1}{2}-{3}{4}{5}{6}-{7}{8}{9}{10}-8",
        "+86{0}{1}{2}{3}{4}{5}{6}{7}{8}{9}{10}-8", "{0}{1}{2} {3}{4}{5}{6} {7}{8}{9}{10} 转 1234567",
        "{0}{1}{2} {3}{4}{5}{6} {7}{8}{9}{10}转", "{0}{1}{2} {3}{4}{5}{6} {7}{8}{9} 转 8")]
    # ten digits: a mobile that lost one (every prefix 130–199), and Beijing's and other landlines
    ten = [f"{prefix}{RNG.integers(0, 10**6):06d}" for prefix in range(1300, 2000) for _ in range(2)]
    ten += ["1065529988", "1012345678", "1112345678", "1212345678", "0212345678", "2012345678"]
    wide = str.maketrans("0123456789", "０１２３４５６７８９")
    return [*values, *(v.translate(wide) for v in values[:200]), *extended, *ten,
            "020-8888 1234", "*", "", "   ", "٣١٣٨١٢٣٤٥٦٧٨", "1３8 1234 5678"]


def test_mobile_fast_path_answers_what_standardize_phone_answers():
    series = pl.Series("v", mobile_values())
    looked_up = distinct_lookup(series, "v", standardize_phone, {"number": pl.Utf8, "kind": pl.Utf8})
    expected = {v: standardize_phone(v) for v in series.unique()}
    assert {v: (n, k) for v, n, k in looked_up.iter_rows()} == expected
    answered, rest = FAST_PATHS[standardize_phone](series.unique())
    assert answered.height > 0.6 * series.n_unique() and rest.len() > 0  # both paths taken
