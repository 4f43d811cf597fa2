"""Compliance API and report page: rule packs, campaign settings, do-not-call lists.

Routes (all need a Bearer token; every query filters on ``g.tenant_id``):

    GET  /api/compliance/packs                         shipped packs with the tenant's overrides
    PUT  /api/compliance/packs/<id>/override           a stricter version of a pack (TOML body)
    GET  /api/compliance/campaigns/<id>/settings       purpose, packs and retry delays
    PUT  /api/compliance/campaigns/<id>/settings
    GET  /api/compliance/campaigns/<id>/report         JSON, or CSV with ?format=csv
    POST /api/dnc                                      {"numbers": [...], "reason": "..."}; with
                                                       "skip_invalid": true, invalid numbers are
                                                       listed under "rejected" instead of a 400
    POST /api/dnc/upload                               CSV file; registry and list_date form fields
    GET  /api/dnc?number=                              the number's listings
    POST /api/attempts/<uuid>/disposition              {"disposition": "do_not_call", "note": "..."}
    GET  /compliance/campaigns/<id>                    the report page (Spanish by default)
    GET  /compliance/dnc                               the do-not-call page (add, upload, look up)

The lead registers the blueprint with ``app.register_blueprint(bp)``.
"""

from web.compliance import disposition  # noqa: F401  (registers its route on bp)
from web.compliance.views import bp

__all__ = ["bp"]
