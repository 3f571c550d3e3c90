-- Token hygiene finds active devices by when they last registered (stale after a while) and
-- inactive ones by when they stopped (deleted after a while); each index holds only its own rows.
CREATE INDEX devices_active_by_registration ON devices (last_registered_at) WHERE active;
CREATE INDEX devices_inactive_by_deactivation ON devices (deactivated_at) WHERE NOT active;
