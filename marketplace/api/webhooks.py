"""Webhooks API: subscribe endpoints to events, read the delivery log, redeliver."""

from __future__ import annotations

from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.api.views import request_org
from marketplace.models import Webhook, WebhookDelivery
from marketplace.selectors.market import webhook_delivery_get_for_org, webhook_get_for_org, webhook_list_for_org
from marketplace.services.webhooks import EVENTS, webhook_create, webhook_delete, webhook_redeliver


class WebhookInputSerializer(serializers.Serializer):
    url = serializers.URLField(max_length=500)
    events = serializers.ListField(child=serializers.ChoiceField(choices=EVENTS), min_length=1, max_length=len(EVENTS))


class WebhookOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Webhook
        fields = ["id", "url", "events", "is_active", "created_at"]


class WebhookCreatedSerializer(WebhookOutputSerializer):
    class Meta(WebhookOutputSerializer.Meta):
        fields = [*WebhookOutputSerializer.Meta.fields, "secret"]


class WebhookDeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event_id",
            "event_type",
            "payload",
            "status",
            "round",
            "attempts",
            "created_at",
            "delivered_at",
        ]


def _webhook(request: Request, pk: int) -> Webhook:
    webhook = webhook_get_for_org(org=request_org(request), pk=pk)
    if webhook is None:
        raise NotFound(gettext("Webhook not found."))
    return webhook


class WebhookListCreateApi(APIView):
    @extend_schema(responses={200: WebhookOutputSerializer(many=True)})
    def get(self, request: Request) -> Response:
        return Response(WebhookOutputSerializer(webhook_list_for_org(org=request_org(request)), many=True).data)

    @extend_schema(request=WebhookInputSerializer, responses={201: WebhookCreatedSerializer})
    def post(self, request: Request) -> Response:
        """Subscribe an endpoint; the answer carries the signing secret, shown this once."""
        data = WebhookInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        webhook = webhook_create(organization=request_org(request), **data.validated_data)
        return Response(WebhookCreatedSerializer(webhook).data, status=status.HTTP_201_CREATED)


class WebhookDetailApi(APIView):
    @extend_schema(responses={200: WebhookOutputSerializer})
    def get(self, request: Request, pk: int) -> Response:
        return Response(WebhookOutputSerializer(_webhook(request, pk)).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        webhook_delete(webhook=_webhook(request, pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookDeliveryListApi(APIView):
    @extend_schema(responses={200: WebhookDeliverySerializer(many=True)})
    def get(self, request: Request, pk: int) -> Response:
        """The delivery log: each event sent to the endpoint, with every attempt."""
        deliveries = _webhook(request, pk).deliveries.all()[:200]
        return Response(WebhookDeliverySerializer(deliveries, many=True).data)


class WebhookRedeliverApi(APIView):
    @extend_schema(request=None, responses={202: WebhookDeliverySerializer})
    def post(self, request: Request, pk: int, delivery_pk: int) -> Response:
        delivery = webhook_delivery_get_for_org(org=request_org(request), webhook_pk=pk, pk=delivery_pk)
        if delivery is None:
            raise NotFound(gettext("Delivery not found."))
        return Response(WebhookDeliverySerializer(webhook_redeliver(delivery=delivery)).data, status=202)
