"""The ``POST /api/cdr`` endpoint for mod_json_cdr."""

from flask import Blueprint

bp = Blueprint("cdr", __name__)
