from services.funds.db.tables import metadata
from shared.migrate import run_env

run_env(metadata)
