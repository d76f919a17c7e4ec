"""A small tanker template shared by the catalog, pricing and order unit tests."""

import datetime as dt

import pytest

from dealercrm.domain.catalog import Option, OptionGroup, PublishedVersion, SpecField, TemplateContent
from dealercrm.domain.values import Money

NOW = dt.datetime(2026, 11, 22, 2, 0, tzinfo=dt.UTC)  # 10:00 in Beijing


def tanker_content(base_fen: int = 238_000_00, special: bool = False) -> TemplateContent:
    return TemplateContent(
        name="40立方米铝合金运油半挂车",
        base_price=Money(base_fen),
        special=special,
        spec_fields=(SpecField("tank_volume", "罐体有效容积", "40", "m³", "number"),
                     SpecField("tank_material", "罐体材质", "铝合金 5182")),
        option_groups=(
            OptionGroup("axle", "车轴", "single", True, (
                Option("AXLE-FUWA", "富华 13T 三轴", Money(0)),
                Option("AXLE-BPW", "BPW 13T 三轴", Money(18_000_00)),
            )),
            OptionGroup("suspension", "悬挂", "single", True, (
                Option("SUSP-MECH", "机械悬挂", Money(0)),
                Option("SUSP-AIR", "空气悬挂", Money(22_000_00), requires=("EBS",)),
            )),
            OptionGroup("brake", "电子制动", "single", True, (
                Option("ABS", "ABS 4S/2M", Money(0)),
                Option("EBS", "WABCO EBS", Money(9_800_00)),
            )),
            OptionGroup("tank", "罐体板材", "single", True, (
                Option("TANK-5182", "5182 板 5mm", Money(0)),
                Option("TANK-6MM", "5083 加厚板 6mm", Money(6_000_00)),
            )),
            OptionGroup("compartments", "分仓", "single", False, (
                Option("COMP-6", "6 仓", Money(7_000_00), excludes=("TANK-6MM",)),
                Option("COMP-LIGHT", "减重 3 仓", Money(-3_000_00)),
            )),
            OptionGroup("extras", "选装", "multiple", False, (
                Option("VAPOR", "油气回收系统", Money(5_600_00)),
                Option("GPS", "北斗定位终端", Money(1_500_00)),
                Option("LIVERY", "企业专属涂装（需核价）", Money(0), special=True),
            )),
        ),
    )


STANDARD = ("AXLE-FUWA", "SUSP-MECH", "ABS", "TANK-5182")


@pytest.fixture
def content() -> TemplateContent:
    return tanker_content()


@pytest.fixture
def version(content) -> PublishedVersion:
    return PublishedVersion(1, 1, "HTL9400GYY", "tanker", content, NOW, "technical")


@pytest.fixture
def now() -> dt.datetime:
    return NOW


@pytest.fixture
def standard() -> tuple[str, ...]:
    return STANDARD


@pytest.fixture(scope="session")
def make_content():
    return tanker_content
