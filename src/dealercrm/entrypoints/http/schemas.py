"""Request and response structs (msgspec). Requests forbid unknown fields: a client that sends
``status`` or ``dealer_id`` where it may not gets 422, never a silent mass assignment."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Generic, TypeVar

import msgspec
from msgspec import Meta
from dealercrm.domain.channel import AgreementStatus, ContactKind, DealerStatus, ProductLine, SettlementMethod
from dealercrm.domain.identity import BadgePurpose, Role

T = TypeVar("T")
Name = Annotated[str, Meta(min_length=1, max_length=200)]
Short = Annotated[str, Meta(min_length=1, max_length=60)]
OptShort = Annotated[str, Meta(max_length=60)] | None
Text = Annotated[str, Meta(min_length=1, max_length=500)]
Username = Annotated[str, Meta(min_length=3, max_length=40)]
Password = Annotated[str, Meta(min_length=1, max_length=256)]
Code18 = Annotated[str, Meta(min_length=1, max_length=40)]
PhoneStr = Annotated[str, Meta(min_length=1, max_length=30)]


class Request(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


# --- auth ------------------------------------------------------------------------------------


class LoginIn(Request):
    username: Username
    password: Password


class LoginOut(msgspec.Struct):
    access_token: str
    token_type: str
    expires_at: str
    role: Role
    dealer_id: int | None


# --- dealers ---------------------------------------------------------------------------------


class AddressBody(Request):
    province: Short
    city: Short
    detail: Name


class BankAccountBody(Request):
    bank_name: Name
    account_name: Name
    account_no: Code18


class ContactBody(Request):
    name: Short
    title: Short
    phone: PhoneStr
    kind: ContactKind = ContactKind.CONTACT
    email: Annotated[str, Meta(max_length=200)] | None = None
    birthday: dt.date | None = None
    is_primary: bool = False
    id_number: Annotated[str, Meta(max_length=30)] | None = None
    share_permille: Annotated[int, Meta(ge=1, le=1000)] | None = None  # 持股比例 ‰ (shareholders)
    abilities: Annotated[list[Annotated[str, Meta(max_length=30)]], Meta(max_length=10)] = []  # 能力


class GrowthPlanBody(Request):
    vehicles: Annotated[int, Meta(ge=0, le=100_000)]
    amount_fen: Annotated[int, Meta(ge=0, le=10**14)]
    retail_vehicles: Annotated[int, Meta(ge=0, le=100_000)] = 0
    actions: Annotated[list[Annotated[str, Meta(min_length=1, max_length=200)]], Meta(max_length=20)] = []


class AssessmentItemBody(Request):
    code: Annotated[str, Meta(max_length=40)]
    label: Annotated[str, Meta(max_length=60)]
    required: bool = True


class AssessmentRulesBody(Request):
    items: Annotated[list[AssessmentItemBody], Meta(max_length=30)]


class AssessmentResultBody(Request):
    code: Annotated[str, Meta(max_length=40)]
    passed: bool
    note: Annotated[str, Meta(max_length=200)] = ""


class AssessmentBody(Request):
    results: Annotated[list[AssessmentResultBody], Meta(max_length=30)]


class QualificationBody(Request):
    kind: Short
    number: Short
    valid_until: dt.date | None = None


class RegisterIn(Request):
    legal_name: Name
    uscc: Code18
    region: Short
    address: AddressBody
    contact: ContactBody
    applicant_username: Username
    applicant_password: Password
    short_name: OptShort = None
    bank_account: BankAccountBody | None = None
    qualifications: Annotated[list[QualificationBody], Meta(max_length=50)] = []


class RegisterOut(msgspec.Struct):
    dealer_id: int
    dealer_code: str
    user_id: int
    status: DealerStatus


class ProfileIn(Request):
    legal_name: Name | None = None
    short_name: OptShort = None
    uscc: Code18 | None = None
    address: AddressBody | None = None
    bank_account: BankAccountBody | None = None
    qualifications: Annotated[list[QualificationBody], Meta(max_length=50)] | None = None


class ReasonIn(Request):
    reason: Text


class TerritoryIn(Request):
    regions: Annotated[list[Short], Meta(max_length=100)]
    industries: Annotated[list[Short], Meta(max_length=50)] = []


class AgreementIn(Request):
    product_lines: Annotated[list[Short], Meta(min_length=1, max_length=3)]
    territory: Annotated[list[Short], Meta(max_length=100)]
    settlement_method: SettlementMethod
    valid_from: dt.date
    valid_to: dt.date


class StatusOut(msgspec.Struct):
    id: int
    status: str
    status_label: str


class CreatedOut(msgspec.Struct):
    id: int
    number: str | None = None


class DealerSummary(msgspec.Struct):
    id: int
    code: str
    legal_name: str
    short_name: str | None
    region: str
    province: str
    city: str
    status: DealerStatus
    status_label: str
    registered_at: dt.datetime | None


class Page(msgspec.Struct, Generic[T]):
    """The one shape of every list answer (except the kiosk's): the items, and the cursor of the next
    page — ``null`` on the last page and on lists that are never cut into pages."""

    items: list[T]
    next_cursor: str | None


class ContactOut(msgspec.Struct):
    id: int
    name: str
    kind: ContactKind
    title: str
    phone: str
    email: str | None
    birthday: dt.date | None
    is_primary: bool
    id_number_masked: str | None
    share_permille: int | None = None
    abilities: list[str] = []


class QualificationOut(msgspec.Struct):
    id: int
    kind: str
    number: str
    valid_until: dt.date | None


class AgreementOut(msgspec.Struct):
    id: int
    number: str
    product_lines: list[ProductLine]
    territory: list[str]
    settlement_method: SettlementMethod
    valid_from: dt.date
    valid_to: dt.date
    status: AgreementStatus


class AddressOut(msgspec.Struct):
    province: str
    city: str
    detail: str


class BankAccountOut(msgspec.Struct):
    bank_name: str
    account_name: str
    account_no: str


class DealerDetail(msgspec.Struct):
    id: int
    code: str
    legal_name: str
    short_name: str | None
    uscc: str
    region: str
    address: AddressOut
    bank_account: BankAccountOut | None
    status: DealerStatus
    status_label: str
    status_reason: str | None
    territory_regions: list[str]
    territory_industries: list[str]
    registered_at: dt.datetime | None
    approved_at: dt.datetime | None
    version: int
    contacts: list[ContactOut]
    qualifications: list[QualificationOut]
    agreements: list[AgreementOut]


class AuditEntry(msgspec.Struct):
    id: int
    at: dt.datetime
    actor_name: str
    actor_role: Role
    request_id: str | None
    entity: str
    entity_id: int
    action: str
    changes: dict[str, object]


# --- users and devices -------------------------------------------------------------------------


class UserIn(Request):
    username: Username
    display_name: Short
    role: Role
    password: Password
    dealer_id: int | None = None
    station_id: int | None = None
    regions: Annotated[list[Short], Meta(max_length=20)] = []
    phone: PhoneStr | None = None
    email: Annotated[str, Meta(max_length=200)] | None = None
    department: OptShort = None


class RoleIn(Request):
    role: Role
    regions: Annotated[list[Short], Meta(max_length=20)] = []


class UserOut(msgspec.Struct):
    id: int
    username: str
    display_name: str
    role: Role
    dealer_id: int | None
    station_id: int | None
    regions: list[str]
    phone: str | None
    email: str | None
    is_active: bool
    created_at: dt.datetime | None
    department: str | None = None
    badge: str | None = None  # masked (****E5F6)
    badge_purpose: BadgePurpose | None = None


class UserPage(msgspec.Struct):
    items: list[UserOut]
    next_cursor: str | None


class RoleOut(msgspec.Struct):
    code: str
    label: str


class DeviceIn(Request):
    name: Short
    location: Short


class BadgeIn(Request):
    badge_uid: Annotated[str, Meta(min_length=1, max_length=40, description="工牌卡号 UID in hex (04A1B2C3)")]
    purpose: BadgePurpose = BadgePurpose.GUARD


class BadgeOut(msgspec.Struct):
    user_id: int
    username: str
    display_name: str
    badge: str | None
    purpose: BadgePurpose | None
    enrolled_at: str | None


class BadgeRevokedOut(msgspec.Struct):
    user_id: int
    badge: str
    revoked: bool


class DeviceOut(msgspec.Struct):
    id: int
    name: str
    location: str
    key_prefix: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None
    reported_at: dt.datetime | None  # the agent's last status report (None: never reported)
    report: dict[str, Any] | None


class DeviceKeyOut(msgspec.Struct):
    id: int
    api_key: str
    note: str


class MeOut(msgspec.Struct):
    user_id: int | None
    username: str
    role: Role
    dealer_id: int | None
    regions: list[str]
    device_id: int | None
