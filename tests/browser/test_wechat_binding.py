"""The WeChat binding in a real browser that says it is WeChat's (issue 18): the status page
offers "绑定微信", the fake WeChat's authorization sends the phone straight back (as
snsapi_base does), and the customer's OpenID is stored; a phone's ordinary browser sees no
offer."""

import pytest

from customers.models import Customer
from tests.factories import CustomerFactory, VisitFactory
from tests.messaging.fake_wechat import start_fake_wechat
from tests.messaging.test_wechat import PHONE_UA, WECHAT_UA
from visits import status

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def fake(settings, live_server):
    fake, server = start_fake_wechat()
    settings.WECHAT_API_BASE = fake.url
    settings.WECHAT_AUTHORIZE_URL = f"{fake.url}/connect/oauth2/authorize"
    settings.SHOPCRM_PUBLIC_URL = live_server.url
    yield fake
    server.shutdown()
    server.server_close()


def phone(browser, agent):
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, user_agent=agent
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    return context, page


def test_binding_wechat_from_the_status_page(browser, live_server, fake):
    customer = CustomerFactory(preferred_channel="wechat")
    visit = VisitFactory(vehicle__owner=customer)
    url = live_server.url + "/" + status.status_link_create(visit=visit).split("/", 3)[3]

    context, page = phone(browser, PHONE_UA)
    page.goto(url)
    assert page.locator("#status-page").is_visible() and page.locator("#wechat-bind").count() == 0
    context.close()

    context, page = phone(browser, WECHAT_UA)
    page.goto(url)
    page.get_by_role("link", name="绑定微信").click()
    page.wait_for_selector("#wechat-bind-result[data-state=bound]")
    assert "微信绑定成功" in page.content()
    page.get_by_role("link", name="返回").click()
    page.wait_for_selector("#status-page")
    assert page.locator("#wechat-bind").count() == 0  # bound: offered no more
    context.close()

    customer = Customer.objects.get(pk=customer.pk)
    assert (customer.wechat_openid, customer.wechat_bound_source) == ("oBROWSER0001", "status_page")
    [exchange] = fake.calls("/sns/oauth2/access_token")
    assert exchange.query["code"] == "CODE1"
