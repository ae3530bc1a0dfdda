-- One schema per stateful service, so each keeps its own tables and migrations.
CREATE SCHEMA IF NOT EXISTS registry;
CREATE SCHEMA IF NOT EXISTS verifier;
CREATE SCHEMA IF NOT EXISTS issuer_civil;
CREATE SCHEMA IF NOT EXISTS issuer_medical;
CREATE SCHEMA IF NOT EXISTS issuer_social;
