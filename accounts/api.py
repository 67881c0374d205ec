"""The API's schools (under /api/v1/, routed in lending/urls.py with the rest of the API): which
school ids a teacher can book for, and for staff every school. The shared plumbing (one error
shape, paging, strict input) comes from lending.api."""

from django.db.models import Q
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from accounts.models import School
from accounts.selectors import schools_visible_to
from lending.api import ApiPagination, ApiView, paginated, valid_input
from lending.serializers import ErrorSerializer


class SchoolQuerySerializer(serializers.Serializer):
    search = serializers.CharField(required=False, max_length=100, help_text="Part of the name or the school number.")


class SchoolSerializer(serializers.ModelSerializer):
    class Meta:
        model = School
        fields = ["id", "number", "name", "school_type"]
        read_only_fields = fields


class SchoolListApi(ApiView):
    """The schools the caller may look up: staff all active ones, a teacher their own, whose id
    POST /reservations/ takes."""

    pagination_class = ApiPagination

    @extend_schema(parameters=[SchoolQuerySerializer],
                   responses={200: SchoolSerializer(many=True), 400: ErrorSerializer, 403: ErrorSerializer,
                              404: ErrorSerializer})
    def get(self, request):
        data = valid_input(SchoolQuerySerializer, request.query_params)
        schools = schools_visible_to(user=request.user)
        if data.get("search"):
            schools = schools.filter(Q(name__icontains=data["search"]) | Q(number__icontains=data["search"]))
        return paginated(self, request, schools, SchoolSerializer)


class SchoolDetailApi(ApiView):
    """One school the caller may see, as in the list; any other is 404."""

    @extend_schema(responses={200: SchoolSerializer, 403: ErrorSerializer, 404: ErrorSerializer})
    def get(self, request, pk):
        return Response(SchoolSerializer(get_object_or_404(schools_visible_to(user=request.user), pk=pk)).data)
