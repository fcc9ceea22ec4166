"""The review side's routes in one list, so the app includes them with one line: notices, customers,
incidents and approvals, the audit log, the dashboard."""

from __future__ import annotations

from fastapi import APIRouter

from engine.api import audit, customers, dashboard, incidents, notices

ROUTERS: tuple[APIRouter, ...] = (notices.router, customers.router, incidents.router, audit.router, dashboard.router)
