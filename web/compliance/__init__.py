"""Compliance API and report page: rule packs, campaign settings, do-not-call lists.

Routes (all need a Bearer token; every query filters on ``g.tenant_id``):

    GET  /api/compliance/packs                         shipped packs with the tenant's overrides
    PUT  /api/compliance/packs/<id>/override           a stricter version of a pack (TOML body)
    GET  /api/compliance/campaigns/<id>/settings       purpose, packs and retry delays
    PUT  /api/compliance/campaigns/<id>/settings
    GET  /api/compliance/campaigns/<id>/report         JSON, or CSV with ?format=csv
    POST /api/dnc                                      {"numbers": [...], "reason": "..."}
    POST /api/dnc/upload                               CSV file; registry and list_date form fields
    GET  /api/dnc?number=                              the number's listings
    GET  /compliance/campaigns/<id>                    the report page (Spanish by default)

The lead registers the blueprint with ``app.register_blueprint(bp)``.
"""

from web.compliance.views import bp

__all__ = ["bp"]
