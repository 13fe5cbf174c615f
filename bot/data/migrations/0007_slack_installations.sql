-- Slack installations through OAuth (many workspaces): the bot token of each workspace, and of each member
-- who installed, as slack-sdk's Installation and Bot records (JSON). Tokens are kept here and nowhere else;
-- they are never logged. Uninstalling the app deletes its workspace's rows.
CREATE TABLE slack_installations (
    kind          TEXT NOT NULL CHECK (kind IN ('bot', 'installation')),
    enterprise_id TEXT NOT NULL DEFAULT '',
    team_id       TEXT NOT NULL DEFAULT '',   -- '' for an installation across an Enterprise Grid org
    user_id       TEXT NOT NULL DEFAULT '',   -- '' for the workspace's latest installation
    data          TEXT NOT NULL,
    installed_at  TEXT NOT NULL,
    PRIMARY KEY (kind, enterprise_id, team_id, user_id)
);

-- The OAuth flow's state values, single use, until they expire (ten minutes).
CREATE TABLE slack_oauth_states (
    state      TEXT PRIMARY KEY,
    expires_at REAL NOT NULL
);
