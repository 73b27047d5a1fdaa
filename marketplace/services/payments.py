"""Payment gateways behind one small interface; the built-in test gateway needs no external service."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.utils.translation import gettext

from marketplace.errors import ApplicationError


@dataclass(frozen=True)
class Charge:
    reference: str
    amount: int
    currency: str


class PaymentGateway(Protocol):
    def charge(self, *, amount: int, currency: str, payer_reference: str, idempotency_key: str) -> Charge: ...


class TestGateway:
    """Accepts every charge (idempotently per key) unless the payer reference contains 'decline'."""

    def charge(self, *, amount: int, currency: str, payer_reference: str, idempotency_key: str) -> Charge:
        if "decline" in payer_reference.lower():
            raise ApplicationError(gettext("The payment was declined by the test gateway."), status=402)
        reference = "test_" + uuid.uuid5(uuid.NAMESPACE_URL, f"{payer_reference}:{idempotency_key}").hex[:20]
        return Charge(reference=reference, amount=amount, currency=currency)


GATEWAYS: dict[str, type] = {"test": TestGateway}


def payment_gateway() -> PaymentGateway:
    name = getattr(settings, "TESSERA_PAYMENT_GATEWAY", "test")
    return GATEWAYS[name]()
