-- Parents may turn the weekly digest of their children's week off.
ALTER TABLE notification_prefs ADD COLUMN digest BIGINT NOT NULL DEFAULT 1;
