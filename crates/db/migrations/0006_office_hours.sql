-- Teachers tell parents when they answer messages (shown before a parent writes).
ALTER TABLE notification_prefs ADD COLUMN office_hours TEXT NOT NULL DEFAULT '';
