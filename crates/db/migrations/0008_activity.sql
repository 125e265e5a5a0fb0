-- When each account was last active (login or page views, at most one write per ten minutes):
-- the oversight dashboards count active teachers, students and parents from it.
ALTER TABLE users ADD COLUMN last_active_at BIGINT NOT NULL DEFAULT 0;
