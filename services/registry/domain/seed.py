"""Synthetic, realistic household lists for demonstrations and benchmarks (`fupin seed`).

Every person gets a valid ID number whose first 6 digits are the county's code, a plausible
Chinese name, and an age and sex that fit their relation to the head; households average
about 3.5 members. The same `seed` always gives the same file.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from services.registry.db.tables import Region
from services.registry.domain import regions
from services.registry.domain.tabular import HEADERS
from shared.idnumber import check_digit
from shared.regions import is_region_code, parent_of
from shared.tx import Tx

SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余"
            "杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史")
MALE = "伟强磊军勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆建国文志红林春海东永兵成峰德福贵"
FEMALE = "芳娜敏静丽艳娟霞秀兰英华玲萍梅红燕琴云莲桂珍凤洁琳倩雪慧颖婷翠菊春秀"
PLACE = "青石桥河山坪岭坝湾沟塘冲溪家园田坡水竹花龙凤新和平安兴隆"
# (members, weight): about 3.5 members per household.
SIZES = ((1, 12), (2, 18), (3, 20), (4, 22), (5, 17), (6, 11))
CAUSES = (("因病", 40), ("因残", 15), ("缺技术", 12), ("缺资金", 10), ("缺劳力", 8), ("因学", 5),
          ("因灾", 3), ("缺土地", 2), ("缺水", 1), ("交通条件落后", 2), ("自身发展动力不足", 2))
ATTRIBUTES = (("一般贫困户", 70), ("低保贫困户", 22), ("特困供养贫困户", 8))
STATUSES = (("已脱贫", 88), ("未脱贫", 9), ("返贫", 3))
HEALTH = (("健康", 75), ("长期慢性病", 15), ("患有大病", 5), ("残疾", 5))
VILLAGE_HOUSEHOLDS = 120
VILLAGES_PER_TOWNSHIP = 15


@dataclass
class SeedSummary:
    households: int = 0
    people: int = 0
    villages: int = 0


def region_plan(region: str, households: int) -> list[tuple[str, str]]:
    """(code, name) of every region from the province down to the villages the seed uses."""
    if not is_region_code(region) or len(region) < 6:
        raise ValueError("region must be a county, township or village code (6, 9 or 12 digits)")
    wanted = max(1, math.ceil(households / VILLAGE_HOUSEHOLDS))
    if len(region) == 12:
        villages = [region]
    elif len(region) == 9:
        villages = [f"{region}{201 + v:03d}" for v in range(min(wanted, 799))]
    else:
        villages = [f"{region}{100 + v // VILLAGES_PER_TOWNSHIP:03d}"
                    f"{201 + v % VILLAGES_PER_TOWNSHIP:03d}" for v in range(min(wanted, 899 * 15))]
    codes: dict[str, None] = {}
    for village in villages:
        chain = [village]
        while (parent := parent_of(chain[-1])) is not None:
            chain.append(parent)
        codes.update(dict.fromkeys(reversed(chain)))
    return [(code, _region_name(code)) for code in codes]


def _region_name(code: str) -> str:
    rnd = random.Random(code)
    word = "".join(rnd.choice(PLACE) for _ in range(2))
    suffix = {2: "省", 4: "市", 6: "县", 9: "镇", 12: "村"}[len(code)]
    return f"{word}{suffix}"


async def ensure_regions(tx: Tx, plan: list[tuple[str, str]]) -> int:
    """Create the plan's missing regions through the registry's own rules; returns how many."""
    import sqlalchemy as sa

    existing = set((await tx.session.execute(
        sa.select(Region.code).where(Region.code.in_([c for c, _ in plan])))).scalars().all())
    created = 0
    for code, name in plan:
        if code not in existing:
            await regions.create_region(tx, code=code, name=name, parent_code=parent_of(code))
            await tx.session.flush()
            created += 1
    return created


class _People:
    """ID numbers unique within a run: a sequence per birth date, sex in the parity digit."""

    def __init__(self, county: str, rnd: random.Random) -> None:
        self.county, self.rnd = county, rnd
        self.used: dict[tuple[dt.date, int], int] = {}

    def id_number(self, born: dt.date, male: bool) -> str:
        while True:
            key = (born, int(male))
            n = self.used.get(key, 0)
            if n < 499:
                self.used[key] = n + 1
                first17 = f"{self.county}{born:%Y%m%d}{n * 2 + (1 if male else 0):03d}"
                return first17 + check_digit(first17)
            born += dt.timedelta(days=1)

    def name(self, surname: str, male: bool) -> str:
        given = MALE if male else FEMALE
        return surname + "".join(self.rnd.choice(given) for _ in range(self.rnd.choice((1, 2, 2))))


def _pick(rnd: random.Random, weighted: tuple[tuple, ...]):
    return rnd.choices([v for v, _ in weighted], weights=[w for _, w in weighted])[0]


def _birth(rnd: random.Random, age: int, today: dt.date) -> dt.date:
    return today - dt.timedelta(days=age * 365 + rnd.randrange(365))


def _member_facts(rnd: random.Random, age: int) -> tuple[str, str, str]:
    """(labour ability, health, schooling) consistent with age."""
    health = _pick(rnd, HEALTH)
    if age < 6:
        return "无劳动力", health, "学前教育" if age >= 3 else "非在校生"
    if age < 16:
        return "无劳动力", health, "小学" if age < 12 else "七年级至九年级"
    if age < 19 and rnd.random() < 0.8:
        return "无劳动力", health, rnd.choice(("普通高中", "中职/高职"))
    if age >= 65:
        return rnd.choice(("弱劳动力或半劳动力", "丧失劳动力")), health, "非在校生"
    if health in ("患有大病", "残疾"):
        return rnd.choice(("丧失劳动力", "弱劳动力或半劳动力")), health, "非在校生"
    return rnd.choice(("普通劳动力", "普通劳动力", "技能劳动力")), health, "非在校生"


def household_rows(rnd: random.Random, people: _People, number: str, village: str,
                   today: dt.date) -> list[list[str]]:
    size = _pick(rnd, SIZES)
    surname = rnd.choice(SURNAMES)
    head_age = rnd.randint(28, 78)
    head_male = rnd.random() < 0.85
    plan = [("户主", head_age, head_male, surname)]
    if size > 1 and head_age < 75 or size > 2:
        plan.append(("配偶", max(20, head_age + rnd.randint(-5, 5)), not head_male,
                     rnd.choice(SURNAMES)))
    while len(plan) < size:
        if head_age < 55 and rnd.random() < 0.2:
            plan.append(("父母", head_age + rnd.randint(22, 32), rnd.random() < 0.4, surname))
        elif head_age > 58 and rnd.random() < 0.5:
            plan.append(("孙子女", rnd.randint(1, max(1, head_age - 45)), rnd.random() < 0.5,
                         surname))
        else:
            plan.append(("子女", rnd.randint(0, max(0, head_age - 20)), rnd.random() < 0.52,
                         surname))
    cause = _pick(rnd, CAUSES)
    secondary = rnd.choice(("", "", "缺技术", "缺资金", "缺劳力"))
    shared = [cause, "" if secondary == cause else secondary, _pick(rnd, ATTRIBUTES),
              str(rnd.randint(2014, 2019)), village, _pick(rnd, STATUSES)]
    rows = []
    for relation, age, male, family in plan:
        born = _birth(rnd, min(age, 100), today)
        labour, health, schooling = _member_facts(rnd, age)
        rows.append([number, people.name(family, male), people.id_number(born, male), relation,
                     labour, health, schooling, *shared])
    return rows


def seed_rows(*, households: int, region: str, seed: int = 1) -> Iterator[list[str]]:
    """Member rows (import column order) for `households` households in the region."""
    rnd = random.Random(seed)
    people = _People(region[:6], rnd)
    villages = [c for c, _ in region_plan(region, households) if len(c) == 12]
    today = dt.date.today()
    for i in range(households):
        village = villages[i % len(villages)]
        number = f"{village}{i // len(villages) + 1:05d}"
        yield from household_rows(rnd, people, number, village, today)


def write_seed_csv(path: Path, *, households: int, region: str, seed: int = 1,
                   progress=None) -> SeedSummary:
    """Stream the seed to a UTF-8 CSV with the import's Chinese headers."""
    summary = SeedSummary(households=households,
                          villages=sum(1 for c, _ in region_plan(region, households)
                                       if len(c) == 12))
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEADERS)
        for count, row in enumerate(seed_rows(households=households, region=region, seed=seed),
                                    start=1):
            writer.writerow(row)
            summary.people = count
            if progress is not None and count % 50_000 == 0:
                progress(count)
    return summary
