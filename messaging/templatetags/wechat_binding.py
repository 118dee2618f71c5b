"""``{% wechat_bind_offer customer "status_page" %}``: the "绑定微信" offer on a customer's
public page (messaging.binding). Shows nothing outside WeChat, for a customer already bound,
or when no Official Account is configured."""

from django import template

from messaging import binding

register = template.Library()


@register.inclusion_tag("messaging/wechat_bind_offer.html", takes_context=True)
def wechat_bind_offer(context, customer, source):
    request = context.get("request")
    if request is None or not binding.offered(request, customer):
        return {"url": ""}
    return {
        "url": binding.offer_url(
            customer_id=customer.pk, source=source, back=request.get_full_path()
        )
    }
