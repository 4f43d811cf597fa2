"""Pacing settings, pacing decisions and the abandonment trend: JSON API and pages.

Routes (the API needs a Bearer token; every query filters on ``g.tenant_id``):

    GET  /api/campaigns/<id>/pacing                  settings and the latest pacing decision
    PUT  /api/campaigns/<id>/pacing                  change settings (admin, supervisor)
    GET  /api/campaigns/<id>/pacing/history          pacing_log rows, newest first (?since=&limit=)
    GET  /api/reports/abandonment/trend              15-minute and rolling 30-day series
                                                     (?campaign_id=&hours=)
    GET  /campaigns/<id>/pacing                      auto-protection page with the settings form
    GET  /campaigns/<id>/abandonment                 abandonment trend page

The orchestrator re-reads running campaigns every few seconds, so a stored
change applies without a restart.
"""

from web.pacing.views import bp

__all__ = ["bp"]
