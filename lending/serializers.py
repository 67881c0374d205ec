from rest_framework import serializers

from lending.models import Reservation, ReservationLine


class ReservationLineInputSerializer(serializers.Serializer):
    item_type = serializers.IntegerField(min_value=1)
    quantity = serializers.IntegerField(min_value=1, max_value=500)


class ReservationCreateInputSerializer(serializers.Serializer):
    school = serializers.IntegerField(min_value=1)
    pickup_day = serializers.DateField()
    pickup_slot = serializers.TimeField(format="%H:%M")
    return_day = serializers.DateField()
    lines = ReservationLineInputSerializer(many=True, allow_empty=False, max_length=50)
    note = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")


class ReservationLineOutputSerializer(serializers.ModelSerializer):
    item_type = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = ReservationLine
        fields = ["item_type", "quantity"]


class ReservationOutputSerializer(serializers.ModelSerializer):
    lines = ReservationLineOutputSerializer(many=True, read_only=True)
    pickup_slot = serializers.TimeField(format="%H:%M")

    class Meta:
        model = Reservation
        fields = ["code", "status", "school", "location", "pickup_day", "pickup_slot", "return_day", "lines"]
