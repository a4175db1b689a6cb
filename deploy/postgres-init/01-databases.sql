-- One database per service (each service owns its data). Run by the postgres
-- image only when its volume is empty, as POSTGRES_USER, who becomes the owner.
SELECT 'CREATE DATABASE fupin_registry' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'fupin_registry')\gexec
SELECT 'CREATE DATABASE fupin_monitoring' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'fupin_monitoring')\gexec
SELECT 'CREATE DATABASE fupin_funds' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'fupin_funds')\gexec
SELECT 'CREATE DATABASE fupin_tasks' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'fupin_tasks')\gexec
