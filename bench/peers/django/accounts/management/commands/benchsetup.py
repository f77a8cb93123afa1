"""manage.py benchsetup EMAIL: create the bench user (password from the
BENCH_PASSWORD environment variable) and print a new DRF token's key."""
import os

from django.core.management.base import BaseCommand
from rest_framework.authtoken.models import Token

from accounts.models import User


class Command(BaseCommand):
    help = "create the bench user and print an API token key"

    def add_arguments(self, parser):
        parser.add_argument("email")

    def handle(self, *args, **opts):
        user = User.objects.create_user(opts["email"], os.environ["BENCH_PASSWORD"])
        self.stdout.write(Token.objects.create(user=user).key)
