"""The seed's four endpoints, as the article writes them with DRF."""
from django.contrib.auth import authenticate, login, logout
from django.views.decorators.csrf import ensure_csrf_cookie
from rest_framework import status
from rest_framework.authentication import SessionAuthentication
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response

from .serializers import UserSerializer


@api_view(["GET"])
@permission_classes([AllowAny])
@ensure_csrf_cookie
def login_set_cookie(request):
    return Response({"detail": "CSRF cookie set"})


@api_view(["POST"])
@permission_classes([AllowAny])
def login_view(request):
    # like gatehouse, an anonymous login must carry X-CSRFToken (api_view
    # exempts the view from the middleware; DRF's own check raises 403)
    SessionAuthentication().enforce_csrf(request)
    email = request.data.get("email")
    password = request.data.get("password")
    if not email or not password:
        return Response({"detail": "Invalid credentials"}, status=status.HTTP_400_BAD_REQUEST)
    user = authenticate(request, email=email.strip().lower(), password=password)
    if user is None:
        return Response({"detail": "Invalid credentials"}, status=status.HTTP_400_BAD_REQUEST)
    login(request, user)
    return Response({"detail": "Success"})


@api_view(["POST"])
@permission_classes([AllowAny])
def logout_view(request):
    SessionAuthentication().enforce_csrf(request)
    logout(request)
    return Response({"detail": "Logout Successful"})


@api_view(["GET"])
@permission_classes([IsAuthenticated])
def profile(request):
    return Response(UserSerializer(request.user).data)
