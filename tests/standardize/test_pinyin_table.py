"""Pinyin read from a per-character table must be pypinyin's reading, phrases included."""

from __future__ import annotations

import random

from pypinyin import Style, lazy_pinyin

from cdp.demo import catalogue as cat
from cdp.standardize.names import pinyin_syllables_of

COMMON = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐韩冯邓曹彭曾萧田董袁潘于蒋蔡贾丁魏薛叶阎余杜戴夏钟汪" \
         "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰红春长孙重庆单解朴乐行银"


def _reference(text: str) -> list[str]:
    return lazy_pinyin(text, style=Style.NORMAL, errors="ignore")


def test_names_of_the_demo_and_phrases_read_as_pypinyin_reads_them():
    names = [n for n, _ in cat.COMMON_NAMES] + [s + "伟" for s in cat.SURNAMES] + [
        "长孙无忌", "单雄信", "曾国藩", "重庆", "恒通物流", "欧阳娜娜", "王A伟", "李1", "银行", "朝阳区",
        "重庆长安汽车股份有限公司销售分公司"]
    assert [pinyin_syllables_of(n) for n in names] == [_reference(n) for n in names]


def test_random_character_strings_read_as_pypinyin_reads_them():
    rng = random.Random(7)
    every = [chr(c) for c in range(0x4E00, 0x9FA6)]
    texts = ["".join(rng.choice(every) for _ in range(rng.randint(1, 6))) for _ in range(10000)]
    texts += ["".join(rng.choice(COMMON) for _ in range(rng.randint(2, 4))) for _ in range(10000)]
    wrong = [t for t in texts if pinyin_syllables_of(t) != _reference(t)]
    assert not wrong, wrong[:10]
