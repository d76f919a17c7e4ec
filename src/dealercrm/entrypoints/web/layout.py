"""What every page shares: the left navigation per role, breadcrumbs and the page context."""

from __future__ import annotations

from typing import Any

import attrs
from litestar import MediaType, Request
from litestar.response import Template

from dealercrm.application.orders import QUOTE_ISSUERS
from dealercrm.domain.identity import Principal, Role
from dealercrm.entrypoints.http.security import STAFF

DEALER_SIDE = (Role.DEALER,)
ORDER_READERS = (*STAFF, Role.DEALER)
ORDER_WRITERS = (Role.DEALER, Role.SALES, Role.ADMIN)
REVIEWERS = tuple(r for r in STAFF if r not in (Role.GUARD,))
DEALER_DECIDERS = (Role.ADMIN, Role.REGION_MANAGER)


@attrs.frozen
class NavItem:
    label: str
    href: str
    roles: tuple[Role, ...]
    section: str


NAV: tuple[NavItem, ...] = (
    NavItem("工作台", "/", tuple(r for r in Role if r is not Role.KIOSK), "home"),
    NavItem("订单", "/orders", ORDER_READERS, "orders"),
    NavItem("新建订单", "/orders/new", ORDER_WRITERS, "configure"),
    NavItem("审批任务", "/tasks", REVIEWERS, "tasks"),
    NavItem("工作委托", "/delegations", REVIEWERS, "delegations"),
    NavItem("经销商注册审核", "/dealers/registrations", DEALER_DECIDERS, "registrations"),
    NavItem("特殊配置报价", "/factory/quotes", QUOTE_ISSUERS, "factory_quotes"),
    NavItem("信用与账款", "/credit", DEALER_SIDE, "credit"),
    NavItem("库存", "/stock", DEALER_SIDE, "stock"),
    NavItem("提货委托", "/pickups/", DEALER_SIDE, "pickups"),
    NavItem("我的经销商", "/my-dealers", (Role.REGION_MANAGER, Role.SALES, Role.ADMIN), "my_dealers"),
    NavItem("注册状态", "/registration", DEALER_SIDE, "registration"),
    NavItem("经销商档案", "/dealer/", DEALER_SIDE, "dealer_profile"),
    NavItem("销售预测", "/forecasts", DEALER_SIDE, "dealer_forecasts"),
    NavItem("重点客户", "/key-accounts", DEALER_SIDE, "dealer_key_accounts"),
    NavItem("线索", "/leads", DEALER_SIDE, "dealer_leads"),
    NavItem("特殊配置报价", "/quotes", DEALER_SIDE, "dealer_quotes"),
    NavItem("知识库", "/knowledge", tuple(r for r in Role if r is not Role.KIOSK), "knowledge"),
    NavItem("财务审批", "/finance", (Role.FINANCE, Role.ADMIN), "finance"),
    NavItem("收款登记", "/finance/payments/new", (Role.FINANCE, Role.ADMIN), "payments"),
    NavItem("提车介绍信", "/dispatch/authorizations", (Role.DISPATCH, Role.ADMIN), "dispatch_auth"),
    NavItem("出门证", "/dispatch/passes", (Role.DISPATCH, Role.ADMIN), "dispatch_passes"),
    NavItem("出门记录", "/dispatch/exits", (Role.DISPATCH, Role.ADMIN, Role.GUARD, Role.FINANCE), "dispatch_exits"),
    NavItem("发运单", "/dispatch/shipments", (Role.DISPATCH, Role.ADMIN), "dispatch_shipments"),
    NavItem("收货回执", "/dispatch/receipts", (Role.DISPATCH, Role.ADMIN), "dispatch_receipts"),
    NavItem("到货差异", "/dispatch/discrepancies", (Role.DISPATCH, Role.ADMIN, Role.SALES, Role.REGION_MANAGER), "dispatch_discrepancies"),
    NavItem("发票", "/finance/invoices", (Role.FINANCE, Role.INVOICING, Role.ADMIN, Role.SALES, Role.REGION_MANAGER), "invoices"),
    NavItem("催款", "/finance/dunning", (Role.FINANCE, Role.INVOICING, Role.ADMIN, Role.SALES, Role.REGION_MANAGER), "dunning"),
    NavItem("授信变更", "/finance/credit-changes", (Role.FINANCE, Role.INVOICING, Role.ADMIN, Role.SALES, Role.REGION_MANAGER), "credit_changes"),
    NavItem("应收账龄", "/finance/ageing", (Role.FINANCE, Role.INVOICING, Role.ADMIN, Role.SALES, Role.REGION_MANAGER), "ageing"),
    NavItem("分析", "/analytics", (Role.ADMIN, Role.MARKETING, Role.PRODUCTION, Role.FINANCE, Role.SALES,
                                 Role.REGION_MANAGER, Role.INVOICING, Role.DISPATCH, Role.GUARD), "analytics"),
    NavItem("质量分析", "/analytics/quality", (Role.AFTER_SALES, Role.TECHNICAL, Role.PROCUREMENT), "analytics"),
    NavItem("用户与角色", "/admin/users", (Role.ADMIN,), "admin_users"),
    NavItem("自助终端", "/admin/devices", (Role.ADMIN,), "admin_devices"),
    NavItem("经销商与协议", "/admin/dealers", (Role.ADMIN,), "admin_dealers"),
    NavItem("考核规则", "/admin/dealers/assessment-rules", (Role.ADMIN, Role.REGION_MANAGER), "assessment_rules"),
    NavItem("大区", "/admin/regions", (Role.ADMIN,), "admin_regions"),
    NavItem("产品模板", "/admin/catalog", (Role.ADMIN, Role.TECHNICAL, Role.REGION_MANAGER), "admin_catalog"),
    NavItem("公告管理", "/marketing/announcements", (Role.MARKETING, Role.ADMIN), "announcements_admin"),
    NavItem("营销活动", "/marketing/campaigns", (Role.MARKETING, Role.ADMIN, Role.SALES, Role.REGION_MANAGER),
            "marketing_campaigns"),
    NavItem("营销预算", "/marketing/plans", (Role.MARKETING, Role.ADMIN), "marketing_plans"),
    NavItem("线索跟进", "/marketing/leads", (Role.MARKETING, Role.ADMIN, Role.SALES, Role.REGION_MANAGER), "marketing_leads"),
    NavItem("培训管理", "/marketing/trainings", (Role.MARKETING, Role.AFTER_SALES, Role.ADMIN), "marketing_trainings"),
    NavItem("关怀消息模板", "/care/templates", (Role.ADMIN, Role.MARKETING, Role.AFTER_SALES, Role.SALES), "care_templates"),
    NavItem("服务站", "/aftersales/stations", (Role.AFTER_SALES, Role.ADMIN, Role.FINANCE, Role.STATION), "as_stations"),
    NavItem("附近服务站", "/aftersales/stations/nearest", (Role.DEALER, Role.SALES, Role.REGION_MANAGER), "as_stations"),
    NavItem("服务请求", "/aftersales/requests", (Role.AFTER_SALES, Role.ADMIN, Role.FINANCE, Role.STATION), "as_requests"),
    NavItem("索赔审核", "/aftersales/claims", (Role.AFTER_SALES, Role.ADMIN, Role.FINANCE, Role.STATION), "as_claims"),
    NavItem("重大维修案例", "/aftersales/major-repairs", (Role.AFTER_SALES, Role.ADMIN, Role.FINANCE, Role.STATION), "as_major"),
    NavItem("配件库存", "/aftersales/stock", (Role.AFTER_SALES, Role.ADMIN, Role.FINANCE, Role.STATION), "as_stock"),
    NavItem("终端客户", "/customers/", (Role.AFTER_SALES, Role.ADMIN, Role.STATION, Role.DEALER), "customers"),
    NavItem("产品配件展示", "/parts-catalog/", (Role.AFTER_SALES, Role.ADMIN, Role.STATION, Role.DEALER, Role.TECHNICAL),
            "parts_catalog"),
    NavItem("维修合同", "/service-contracts/", (Role.AFTER_SALES, Role.ADMIN, Role.STATION), "service_contracts"),
    NavItem("配件订购与调拨", "/parts-supply/", (Role.AFTER_SALES, Role.ADMIN, Role.STATION), "parts_supply"),
    NavItem("服务收入报表", "/parts-supply/income", (Role.AFTER_SALES, Role.ADMIN, Role.FINANCE, Role.STATION),
            "service_income"),
    NavItem("服务结算", "/aftersales/settlements", (Role.AFTER_SALES, Role.ADMIN, Role.FINANCE, Role.STATION), "as_settlements"),
    NavItem("消息", "/messages", tuple(r for r in Role if r is not Role.KIOSK), "messages"),
    NavItem("互动社区", "/community", tuple(r for r in Role if r is not Role.KIOSK), "community"),
    NavItem("修改密码", "/account/password", tuple(r for r in Role if r is not Role.KIOSK), "account"),
)


def nav_for(user: Principal | None) -> list[NavItem]:
    if user is None:
        return []
    return [item for item in NAV if user.role in item.roles]


def page(request: Request[Any, Any, Any], template_name: str, /, *, title: str, section: str,
         crumbs: tuple[tuple[str, str | None], ...] = (), status_code: int = 200, **context: Any) -> Template:
    """A full page: the template with the user, navigation, title and breadcrumbs
    (``crumbs``: (label, href or None for the current page), after 工作台)."""
    user = request.scope.get("user")
    return Template(template_name=template_name, status_code=status_code, media_type=MediaType.HTML, context={
        "user": user, "nav": nav_for(user), "section": section, "title": title,
        "crumbs": (("工作台", "/"), *crumbs) if section != "home" else (("工作台", None),), **context,
    })


def fragment(template_name: str, /, **context: Any) -> Template:
    """A partial that htmx swaps in (``_<thing>.html``)."""
    return Template(template_name=template_name, context=context, media_type=MediaType.HTML)
