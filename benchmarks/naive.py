"""The usual Django way, for the sync benchmark only: a DRF ModelViewSet per model, one
POST per record. Mounted at /bench-naive/ by the benchmark's own settings and URLs
(benchmarks.settings), never by the app, so the sync benchmark compares against it through
the same server."""

from rest_framework import routers, serializers, viewsets

from api.access import CanSync
from customers.models import Customer, Vehicle
from visits.models import Visit


class NaiveCustomer(serializers.ModelSerializer):
    class Meta:
        model = Customer
        fields = [
            "external_id",
            "name",
            "phone",
            "email",
            "kind",
            "marketing_consent",
            "do_not_contact",
        ]


class NaiveVehicle(serializers.ModelSerializer):
    customer_external_id = serializers.SlugRelatedField(
        source="owner", slug_field="external_id", queryset=Customer.objects.all()
    )

    class Meta:
        model = Vehicle
        fields = [
            "external_id",
            "customer_external_id",
            "vin",
            "plate",
            "brand",
            "model",
            "odometer_km",
        ]


class NaiveVisit(serializers.ModelSerializer):
    vehicle_external_id = serializers.SlugRelatedField(
        source="vehicle", slug_field="external_id", queryset=Vehicle.objects.all()
    )
    customer_external_id = serializers.SlugRelatedField(
        source="customer", slug_field="external_id", queryset=Customer.objects.all()
    )

    class Meta:
        model = Visit
        fields = [
            "external_id",
            "ro_number",
            "vehicle_external_id",
            "customer_external_id",
            "service_type",
            "status",
            "checked_in_at",
            "promised_at",
            "delivered_at",
            "odometer_km",
            "by_appointment",
            "concern",
            "labour_amount",
            "parts_amount",
            "total_amount",
        ]


class _Naive(viewsets.ModelViewSet):
    permission_classes = [CanSync]


class NaiveCustomers(_Naive):
    queryset = Customer.objects.all()
    serializer_class = NaiveCustomer


class NaiveVehicles(_Naive):
    queryset = Vehicle.objects.all()
    serializer_class = NaiveVehicle


class NaiveVisits(_Naive):
    queryset = Visit.objects.all()
    serializer_class = NaiveVisit


router = routers.SimpleRouter()
router.register("customers", NaiveCustomers, basename="naive-customers")
router.register("vehicles", NaiveVehicles, basename="naive-vehicles")
router.register("visits", NaiveVisits, basename="naive-visits")
urlpatterns = router.urls
