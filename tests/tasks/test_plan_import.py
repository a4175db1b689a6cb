"""Tests for the plan-import text parser (services/tasks/domain/plan_import.py)."""

from __future__ import annotations

import datetime
import re
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.tasks.domain.plan_import import ExtractedPlan, extract_plan

# The policy documents live in shared/seeds beside the checkout (as in CI); a missing seed
# fails the tests that read it rather than skipping them.
SEEDS = Path(__file__).resolve().parents[3] / "shared" / "seeds"
SEED_000 = SEEDS / "000_e5112b4b1e0e3cec.txt"


def doc(text: str) -> str:
    """A test document written as an indented triple-quoted string; line 1 is its first line."""
    return textwrap.dedent(text).lstrip("\n")


# --- seed 000: 大扶办发〔2019〕23号 -------------------------------------------------------

# (number, section, title fragment, lead officials, lead units, cooperating units, line)
SEED_000_TASKS = [
    ("1", "（一）", "深入实施稳定脱贫保险", ["周军"], ["区扶贫办"],
     ["区发展改革和财政局", "相关金融机构", "各镇"], 34),
    ("2", "（一）", "深入实施产业扶贫", ["周军"], ["区农业农村和水利局"],
     ["区发展改革和财政局", "区科技和工业信息化局", "区金融办", "相关金融机构", "各镇"], 42),
    ("3", "（一）", "深入实施就业扶贫", ["熊志元"], ["区民政和人力资源社会保障局"],
     ["区农业农村和水利局", "区发展改革和财政局", "区教育和健康卫生局", "各镇"], 50),
    ("4", "（一）", "深入实施教育扶贫", ["梁学军"], ["区社会发展局"],
     ["区农林水务局", "区发展改革和财政局", "各镇"], 58),
    ("5", "（一）", "深入实施健康扶贫", ["梁学军"], ["区社会发展局"],
     ["区人力资源和社会保障局", "区发展改革和财政局", "区农林水务局", "各镇"], 66),
    ("6", "（一）", "深入实施综合保障扶贫工作", ["梁学军"], ["区社会发展局"],
     ["区农林水务局", "区发展改革和财政局", "区司法局", "各镇"], 74),
    ("7", "（一）", "深入实施扶贫与扶智扶志工作", ["孙功伟"], ["区驻村办"],
     ["区扶贫办", "各帮扶单位", "各镇"], 82),
    ("8", "（一）", "深入实施扶贫与农居环境相结合工作", ["周军"], ["区农居办"],
     ["区扶贫办", "各帮扶单位", "各镇"], 90),
    ("1", "（二）", "村组道路", [], ["区公路建设养护中心"], [], 100),
    ("2", "（二）", "安全饮水", [], ["区农业农村和水利局"], [], 104),
    ("3", "（二）", "土地整治", [], ["区自然资源局"], [], 108),
    ("4", "（二）", "人居环境", [], ["区农居办"], [], 112),
    ("5", "（二）", "住房保障", [], ["区住房和城乡建设局"], [], 116),
    ("（三）", "（三）", "开展“回头看”", [], ["各行业扶贫单位", "各镇"], [], 120),
]  # fmt: skip


@pytest.fixture(scope="module")
def seed_000() -> ExtractedPlan:
    return extract_plan(SEED_000.read_text(encoding="utf-8"))


def test_seed_000_plan_header(seed_000: ExtractedPlan) -> None:
    assert seed_000.title == "全面巩固提升脱贫成果实施方案"
    assert seed_000.document_no == "大扶办发〔2019〕23号"
    assert seed_000.unplaced == []


def test_seed_000_yields_fourteen_tasks(seed_000: ExtractedPlan) -> None:
    assert len(seed_000.tasks) == 14
    sections = [task.section for task in seed_000.tasks]
    assert sections == ["（一）"] * 8 + ["（二）"] * 5 + ["（三）"]


@pytest.mark.parametrize("expected", SEED_000_TASKS, ids=lambda e: f"{e[1]}{e[0]}")
def test_seed_000_task(seed_000: ExtractedPlan, expected: tuple) -> None:
    number, section, fragment, officials, leads, cooperating, line = expected
    task = seed_000.tasks[SEED_000_TASKS.index(expected)]
    assert task.number == number
    assert task.section == section
    assert fragment in task.title
    assert task.lead_officials == officials
    assert task.lead_units == leads
    assert task.cooperating_units == cooperating
    assert task.line == line
    assert task.due_text is None
    assert task.due_on is None


def test_seed_000_titles_are_the_first_sentence(seed_000: ExtractedPlan) -> None:
    first = seed_000.tasks[0]
    assert first.title == "深入实施稳定脱贫保险"
    assert first.detail.startswith("深入实施稳定脱贫保险。通过创新保险机制")
    assert "牵头" not in first.detail
    section_three = seed_000.tasks[-1]
    assert section_three.title == "开展“回头看”,补短板强弱项,确保政策落实到位"
    assert "深入开展贫困退出大排查活动" in section_three.detail


# --- other seeds ---------------------------------------------------------------------------

SEED_LEAD_LABEL = re.compile(r"^\s*(?:牵头单位|牵头部门|责任单位|责任部门)\s*[:：]", re.M)


@pytest.mark.parametrize("path", sorted(SEEDS.glob("0*.txt")), ids=lambda p: p.name[:3])
def test_every_seed_parses_plausibly(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    plan = extract_plan(text, default_year=2020)
    line_count = text.count("\n") + 1
    for task in plan.tasks:
        assert task.title.strip()
        assert 1 <= task.line <= line_count
    # every lead label on its own line ends up as the lead of exactly one task
    assert len(SEED_LEAD_LABEL.findall(text)) == sum(1 for t in plan.tasks if t.lead_units)


def test_seed_004_has_no_labelled_tasks_but_a_header() -> None:
    plan = extract_plan((SEEDS / "004_fe0df35bc8e61fdd.txt").read_text(encoding="utf-8"))
    assert plan.title == "创新机制进一步做好定点扶贫工作方案"
    assert plan.document_no == "琼扶发〔2014〕5号"
    # its numbered lists (targets, 工作要求) carry no 牵头/责任 labels: not tasks
    assert plan.tasks == []


def test_seed_003_web_capture_gives_no_tasks() -> None:
    plan = extract_plan((SEEDS / "003_2815eee02937bf53.txt").read_text(encoding="utf-8"))
    assert plan.title == "脱贫攻坚规划方案"
    assert plan.tasks == []  # the site's numbered "温馨提示" list is not a task list
    assert plan.unplaced == []


def test_seed_001_title_from_quoted_name() -> None:
    plan = extract_plan((SEEDS / "001_b8ebbececf23d82d.txt").read_text(encoding="utf-8"))
    assert plan.title == "关于打赢脱贫攻坚战三年行动的实施意见"
    assert plan.tasks == []


# --- layouts -------------------------------------------------------------------------------


def test_labels_on_their_own_lines() -> None:
    plan = extract_plan(
        doc(
            """
            1. 完成危房改造200户。按照标准逐户验收。
            牵头区级领导：张三
            牵头单位：区扶贫办
            配合单位：区财政局、区人社局

            2. 开展技能培训。
            牵头县级领导：李四、王五
            牵头单位：县人社局
            """
        )
    )
    first, second = plan.tasks
    assert (first.number, first.title, first.line) == ("1", "完成危房改造200户", 1)
    assert first.lead_officials == ["张三"]
    assert first.lead_units == ["区扶贫办"]
    assert first.cooperating_units == ["区财政局", "区人社局"]
    assert first.section is None
    assert second.lead_officials == ["李四", "王五"]
    assert second.lead_units == ["县人社局"]
    assert second.cooperating_units == []
    assert plan.unplaced == []


def test_labels_inline_after_the_task_sentence() -> None:
    plan = extract_plan(
        doc(
            """
            1. 完成危房改造。牵头单位：住建局；配合单位：财政局、民政局
            2、落实低保兜底 牵头单位:民政局;配合单位:财政局,扶贫办;完成时限:2020年6月底
            """
        )
    )
    first, second = plan.tasks
    assert first.title == "完成危房改造"
    assert first.lead_units == ["住建局"]
    assert first.cooperating_units == ["财政局", "民政局"]
    assert second.title == "落实低保兜底"
    assert second.lead_units == ["民政局"]
    assert second.cooperating_units == ["财政局", "扶贫办"]
    assert second.due_text == "2020年6月底"
    assert second.due_on == datetime.date(2020, 6, 30)


def test_labels_in_brackets_at_the_end() -> None:
    plan = extract_plan(
        doc(
            """
            （1）新改建农村公路35公里（责任单位：区交通局，完成时限：2020年10月底）
            (2)新建改造变压器38台(责任单位:区供电公司,完成时限:2020年12月31日)
            (3)新建扶贫车间1个【牵头单位：区人社局；配合单位：各镇（街）】
            (4)舉辦招聘會2次（責任單位：區人社局；時間節點：2020年9月）
            """
        )
    )
    roads, power, workshop, fair = plan.tasks
    assert (roads.number, roads.title) == ("（1）", "新改建农村公路35公里")
    assert roads.lead_units == ["区交通局"]
    assert roads.cooperating_units == []
    assert roads.due_text == "2020年10月底"
    assert roads.due_on == datetime.date(2020, 10, 31)
    assert (power.number, power.title) == ("（2）", "新建改造变压器38台")
    assert power.lead_units == ["区供电公司"]
    assert power.due_on == datetime.date(2020, 12, 31)
    assert workshop.lead_units == ["区人社局"]
    assert workshop.cooperating_units == ["各镇（街）"]
    # traditional characters (a capture like seed 002) are read too
    assert fair.title == "舉辦招聘會2次"
    assert fair.lead_units == ["區人社局"]
    assert fair.due_on == datetime.date(2020, 9, 30)
    assert plan.unplaced == []


def test_lead_and_cooperating_phrase_in_brackets() -> None:
    plan = extract_plan("1. 开展贫困户动态监测（县扶贫办牵头，县民政局、县医保局配合）\n")
    (task,) = plan.tasks
    assert task.title == "开展贫困户动态监测"
    assert task.lead_units == ["县扶贫办"]
    assert task.cooperating_units == ["县民政局", "县医保局"]


def test_responsible_units_alone_are_the_lead() -> None:
    plan = extract_plan("1. 推进饮水安全工程。\n责任部门：区水利局、各镇\n")
    (task,) = plan.tasks
    assert task.lead_units == ["区水利局", "各镇"]
    assert task.cooperating_units == []


def test_responsible_units_next_to_a_lead_unit_cooperate() -> None:
    plan = extract_plan(
        doc(
            """
            1. 推进产业扶贫。
            牵头单位：县农业农村局
            配合单位：县财政局
            责任单位：各乡镇、县供销社
            """
        )
    )
    (task,) = plan.tasks
    assert task.lead_units == ["县农业农村局"]
    assert task.cooperating_units == ["县财政局", "各乡镇", "县供销社"]


def test_responsible_unit_marked_as_lead() -> None:
    plan = extract_plan("1. 硬化通村公路。\n责任单位：县交通局（牵头）、县财政局、各乡镇\n")
    (task,) = plan.tasks
    assert task.lead_units == ["县交通局"]
    assert task.cooperating_units == ["县财政局", "各乡镇"]


@pytest.mark.parametrize(
    ("due_text", "default_year", "expected"),
    [
        ("2020年6月底", None, datetime.date(2020, 6, 30)),
        ("2019年12月31日前", None, datetime.date(2019, 12, 31)),
        ("2020年10月", None, datetime.date(2020, 10, 31)),
        ("2020年2月底", None, datetime.date(2020, 2, 29)),
        ("2020年年底前", None, datetime.date(2020, 12, 31)),
        ("年底前完成", 2021, datetime.date(2021, 12, 31)),
        ("年内", 2021, datetime.date(2021, 12, 31)),
        ("年底前完成", None, None),
        ("6月底前", 2020, datetime.date(2020, 6, 30)),
        ("2020年6月底前启动，9月底前完成", None, datetime.date(2020, 9, 30)),
        ("2020年上半年", None, datetime.date(2020, 6, 30)),
        ("2020年第三季度", None, datetime.date(2020, 9, 30)),
        ("2020-11-15", None, datetime.date(2020, 11, 15)),
        ("2020年", None, datetime.date(2020, 12, 31)),
        ("长期坚持", 2020, None),
    ],
)
def test_due_dates(due_text: str, default_year: int | None, expected: datetime.date) -> None:
    plan = extract_plan(f"1. 完成任务。牵头单位：县扶贫办；完成时限：{due_text}\n", default_year=default_year)
    (task,) = plan.tasks
    assert task.due_text == due_text
    assert task.due_on == expected


@pytest.mark.parametrize("label", ["完成时限", "时间节点", "完成时间"])
def test_due_label_variants(label: str) -> None:
    plan = extract_plan(f"1. 完成任务\n牵头单位：县扶贫办\n{label}：2020年11月\n")
    assert plan.tasks[0].due_on == datetime.date(2020, 11, 30)


def test_document_year_is_used_for_year_end() -> None:
    text = doc(
        """
        县扶办发〔2019〕8号
        某县2020年脱贫攻坚工作要点
        1. 完成任务（牵头单位：县扶贫办，完成时限：年底前）
        """
    )
    plan = extract_plan(text, default_year=2018)
    assert plan.title == "某县2020年脱贫攻坚工作要点"
    assert plan.document_no == "县扶办发〔2019〕8号"
    assert plan.tasks[0].due_on == datetime.date(2020, 12, 31)  # the title's year wins
    plan = extract_plan("1. 完成任务（牵头单位：县扶贫办，完成时限：年底前）\n", default_year=2018)
    assert plan.tasks[0].due_on == datetime.date(2018, 12, 31)


def test_unit_separators_and_trailing_deng() -> None:
    plan = extract_plan(
        doc(
            """
            1. 完成任务
            牵头单位：县扶贫办
            配合单位：县财政局 县民政局，县人社局,县教育局；县卫健局;县（市、区）医保局、各乡镇等
            2. 完成任务二
            牵头单位：县住建局
            配合单位：县自然资源局等相关单位
            """
        )
    )
    first, second = plan.tasks
    assert first.cooperating_units == [
        "县财政局", "县民政局", "县人社局", "县教育局", "县卫健局", "县（市、区）医保局", "各乡镇",
    ]  # fmt: skip
    assert second.cooperating_units == ["县自然资源局"]


def test_wrapped_label_list_continues_on_next_line() -> None:
    plan = extract_plan("1. 完成任务\n牵头单位：县扶贫办\n配合单位：县财政局、\n县民政局\n")
    assert plan.tasks[0].cooperating_units == ["县财政局", "县民政局"]


@pytest.mark.parametrize(
    ("numbering", "expected"),
    [
        ("1", "1"),
        ("1.", "1"),
        ("1．", "1"),
        ("1、", "1"),
        ("1 ", "1"),
        ("（1）", "（1）"),
        ("(1)", "（1）"),
        ("1）", "（1）"),
        ("①", "①"),
        ("一、", "一"),
        ("（一）", "（一）"),
        ("(一)", "（一）"),
    ],
)
def test_numbering_styles(numbering: str, expected: str) -> None:
    plan = extract_plan(f"{numbering}完成危房改造。牵头单位：县住建局\n")
    (task,) = plan.tasks
    assert task.number == expected
    assert task.title == "完成危房改造"


def test_numbers_that_are_quantities_are_not_numbering() -> None:
    plan = extract_plan(
        doc(
            """
            1. 完成危房改造。牵头单位：县住建局
            2020年完成全部任务。
            25户以上的自然村通硬化路。
            1.5万人参加培训。
            """
        )
    )
    assert [task.number for task in plan.tasks] == ["1"]


def test_nested_sections() -> None:
    plan = extract_plan(
        doc(
            """
            某县2020年脱贫攻坚实施方案
            一、产业发展
            （一）种植业。
            1. 发展茶叶1万亩。牵头单位：县农业局
            2. 发展果蔬基地。牵头单位：县农业局
            （二）养殖业。
            1. 发展生猪养殖。牵头单位：县畜牧局
            二、基础设施
            1. 新建通村公路。责任单位：县交通局
            2. 改造农村电网。责任单位：县供电公司
            三、保障措施
            （一）加强组织领导。
            （二）强化督查考核。
            """
        )
    )
    assert [(t.section, t.number, t.title) for t in plan.tasks] == [
        ("（一）", "1", "发展茶叶1万亩"),
        ("（一）", "2", "发展果蔬基地"),
        ("（二）", "1", "发展生猪养殖"),
        ("二", "1", "新建通村公路"),
        ("二", "2", "改造农村电网"),
    ]
    assert plan.unplaced == []


def test_section_with_paragraph_and_labels_is_its_own_task() -> None:
    plan = extract_plan(
        doc(
            """
            （一）巩固脱贫成果
            1. 开展大排查。
            责任部门：县扶贫办
            （二）开展回头看
            深入开展贫困退出大排查活动。
            责任部门：各镇
            """
        )
    )
    assert [(t.section, t.number, t.title, t.lead_units) for t in plan.tasks] == [
        ("（一）", "1", "开展大排查", ["县扶贫办"]),
        ("（二）", "（二）", "开展回头看", ["各镇"]),
    ]


def test_heading_labels_are_inherited() -> None:
    plan = extract_plan(
        doc(
            """
            （一）产业扶贫（牵头县级领导：张三）
            1. 发展特色产业。牵头单位：县农业局
            2. 培育经营主体。牵头单位：县供销社
            """
        )
    )
    assert [t.lead_officials for t in plan.tasks] == [["张三"], ["张三"]]
    assert [t.lead_units for t in plan.tasks] == [["县农业局"], ["县供销社"]]


def test_unnumbered_paragraph_with_inline_labels_is_a_task() -> None:
    plan = extract_plan(
        doc(
            """
            实施产业扶贫增收行动。新建扶贫产业基地1个。（牵头单位：区农业农村局）
            实施就业创业促进行动。（牵头单位：区人社局）
            """
        )
    )
    assert [(t.number, t.title, t.lead_units) for t in plan.tasks] == [
        ("", "实施产业扶贫增收行动", ["区农业农村局"]),
        ("", "实施就业创业促进行动", ["区人社局"]),
    ]


def test_page_chrome_does_not_produce_tasks() -> None:
    plan = extract_plan(
        doc(
            """
            首页 > 政务公开 > 通知公告
            当前位置：首页>>扶贫开发
            发布时间：2020-03-02 09:15  来源：县扶贫办  浏览次数：128
            【字体：大 中 小】 【打印本页】 【关闭窗口】
            某县2020年脱贫攻坚工作要点
            1. 完成危房改造。牵头单位：县住建局
            2. 完成饮水工程。牵头单位：县水利局
            打印本页 关闭窗口
            1. 上一篇：关于做好春耕生产的通知
            2. 下一篇：某县召开扶贫工作会议
            主办：某县人民政府办公室
            网站标识码：1234567890 ICP备05000000号
            """
        )
    )
    assert plan.title == "某县2020年脱贫攻坚工作要点"
    assert [t.title for t in plan.tasks] == ["完成危房改造", "完成饮水工程"]
    assert plan.unplaced == []


def test_document_without_tasks() -> None:
    plan = extract_plan(
        doc(
            """
            关于做好2020年春耕生产的通知
            各乡镇：
            一、提高认识
            1. 加强领导。
            2. 强化宣传。
            二、抓好落实
            """
        )
    )
    assert plan.tasks == []
    assert plan.unplaced == []
    assert extract_plan("").tasks == []


def test_labels_that_cannot_be_attached_are_unplaced() -> None:
    plan = extract_plan(
        doc(
            """
            牵头单位：县扶贫办
            1. 完成危房改造
            牵头单位：县住建局
            以上任务要按时完成。
            配合单位：县财政局
            """
        )
    )
    (task,) = plan.tasks
    assert task.lead_units == ["县住建局"]
    assert task.cooperating_units == []
    assert [(u.line, u.text, u.reason) for u in plan.unplaced] == [
        (1, "牵头单位：县扶贫办", "label_without_task"),
        (5, "配合单位：县财政局", "label_without_task"),
    ]


def test_task_without_lead_is_kept_and_reported() -> None:
    plan = extract_plan(
        doc(
            """
            1. 完成危房改造。牵头单位：县住建局
            2. 完成饮水工程。
            3. 完成道路硬化（配合单位：各乡镇；完成时限：2020年底）
            """
        )
    )
    assert [t.number for t in plan.tasks] == ["1", "2", "3"]
    assert plan.tasks[1].lead_units == []
    assert plan.tasks[2].lead_units == []
    assert plan.tasks[2].cooperating_units == ["各乡镇"]
    assert plan.tasks[2].due_on == datetime.date(2020, 12, 31)
    assert [(u.line, u.reason) for u in plan.unplaced] == [
        (2, "task_without_lead"),
        (3, "task_without_lead"),
    ]


def test_windows_line_endings_keep_line_numbers() -> None:
    plan = extract_plan("标题\r\n\r\n1. 完成任务\r\n牵头单位：县扶贫办\r\n")
    assert plan.tasks[0].line == 3


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ["1. 完成任务", "（一）标题", "一、总体要求", "牵头单位：县扶贫办", "配合单位：各乡镇、",
             "责任部门：县水利局", "完成时限：2020年6月底", "说明文字。", "（责任单位：某局）", "①", "",
             "打印本页", "县（市、区）", "【牵头单位】", "2020年", "(", "）"]
        ).map(str)
        | st.text(max_size=20),
        max_size=15,
    )
)  # fmt: skip
def test_never_crashes_on_arbitrary_text(lines: list[str]) -> None:
    plan = extract_plan("\n".join(lines), default_year=2020)
    for task in plan.tasks:
        assert task.title
        assert task.line >= 1
