"""Routes for bulk import and export of households (批量导入导出)."""

from shared.web import service_router

router = service_router("registry", tags=["registry: imports 批量导入"])
